"""Reads of the calendars app. A calendar is listed through its UserCalendar link (role, isPrimary,
userIdentifier come from the link), so every list is of links with the calendar joined in."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as dt_timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account, User
from directory.models import IdentifierPreferences, UserIdentifier
from directory.preferences import skill_view
from tskr.exceptions import NotFound
from tskr.infra.sql import Columns, convert, converters, quote, table

from . import hooks
from .availability.slots import Occurrence, Participant, Rules, find_slots, occurrence_interval, time_issues
from .models import Calendar, CalendarEvent, UserCalendar


def user_calendar_list(*, queryset: QuerySet[UserCalendar], identifier: UserIdentifier | None = None,
                       ) -> QuerySet[UserCalendar]:
    """Calendar links of one account (`queryset`, already scoped: to a user for the caller's calendars),
    or those of one identifier; primary first, the calendar joined in."""
    if identifier is not None:
        queryset = queryset.filter(identifier=identifier)
    return queryset.select_related("calendar").order_by("-is_primary", "calendar__name", "id")


# -- occurrences and availability -------------------------------------------------------------------

#: What blocks time (the contract's busy rule): not cancelled, not free, not declined by the synced user.
#: Tentative occurrences and unanswered invitations are busy.
BUSY = (~Q(status=CalendarEvent.Status.CANCELLED) & Q(transparency=CalendarEvent.Transparency.OPAQUE)
        & ~Q(response_status=CalendarEvent.ResponseStatus.DECLINED))
#: Loaded around a window: all-day occurrences are stored at their dates' UTC midnights, and the daily
#: limit and time-block runs need the whole local days at the window's edges (offsets reach +-14 h).
MARGIN = timedelta(days=2)
OCCURRENCE_FIELDS = ("start", "end", "all_day", "start_date", "end_date")


def calendar_event_list(*, queryset: QuerySet[CalendarEvent], user: User, start: datetime, end: datetime,
                        calendar: Calendar | None = None) -> QuerySet[CalendarEvent]:
    """The user's occurrences overlapping `[start, end)` on their calendars (or one of them), by start,
    among `queryset` (occurrences of the user's account, already scoped).

    Calendars are the user's through their links; a subquery, not a join, so a calendar linked by two
    of the user's identifiers lists its events once.
    """
    calendar_ids = UserCalendar.objects.filter(account_id=user.account_id, user=user).values("calendar_id")
    events = queryset.filter(calendar_id__in=calendar_ids, start__lt=end, end__gt=start)
    if calendar is not None:
        events = events.filter(calendar=calendar)
    return events.order_by("start", "id")


def user_calendar_get(*, account: Account, user: User, calendar_id: str) -> Calendar:
    """One of the user's calendars (404 `calendar_not_found` for another user's or account's)."""
    link = (UserCalendar.objects.filter(account=account, user=user, calendar_id=calendar_id)
            .select_related("calendar").first())
    if link is None:
        raise NotFound("Calendar not found", error_code="calendar_not_found")
    return link.calendar


@dataclass
class ParticipantContext:
    """What availability needs of one user besides their occurrences (`participants_busy_load`)."""

    user: User
    scheduling: dict
    zone: ZoneInfo
    calendars: list[Calendar]
    #: The values of the user's identifiers, when a caller read them with the rest (the scheduling
    #: agent, for its task owner: is a recipient the owner?); None otherwise.
    identifiers: list[str] | None = None

    @property
    def calendar_ids(self) -> list[str]:
        return [calendar.id for calendar in self.calendars]

    @property
    def last_synced_at(self) -> datetime | None:
        """The oldest sync of the calendars considered (None when one never synced, or there are none)."""
        moments = [calendar.last_synced_at for calendar in self.calendars]
        return None if not moments or None in moments else min(moments)

    @property
    def sync_error(self) -> bool:
        return any(calendar.sync_error for calendar in self.calendars)


def zone_or_none(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def participants_load(*, account: Account, references: list[str], skip_unknown: bool = False,
                      ) -> list[ParticipantContext]:
    """The users named by id or email (case-insensitive), in the order given, with their scheduling
    preferences, timezone and calendars. One query whatever their number (`_participants_sql`).

    Preferences are `preferences.scheduling` with the defaults merged in; the timezone is the user's,
    else their primary calendar's, else UTC; the calendars are those named (by referenceId) in
    `calendars.read`, or all of theirs when the list is empty. A reference not naming a user of the
    account raises 404 `user_not_found`, unless `skip_unknown` (the agent passes every handle of a
    message to learn which are users of the account: the others are left out).
    """
    if not references:
        return []
    sql, user_columns, calendar_columns, preferences = _participants_sql(connection.vendor)
    marks = ", ".join(["%s"] * len(references))
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=marks, emails=marks),
                       [account.id, account.id, *references, *(reference.lower() for reference in references)])
        rows = cursor.fetchall()
    by_reference, calendars_of = {}, {}
    width, id_index = len(user_columns), user_columns.names.index("id")
    for row in rows:
        user = by_reference.get(row[id_index])
        if user is None:
            user = user_columns.load(row[:width])
            user.email_lower = user.email.lower()
            user.preferences_data = convert(row[width], preferences)
            user.primary_zone = row[width + 1]
            by_reference[user.id] = by_reference[user.email_lower] = user
            calendars_of[user.id] = []
        calendar = calendar_columns.load(row[width + 2:])
        if calendar is not None:
            calendars_of[user.id].append(calendar)
    missing = [reference for reference in references if reference not in by_reference
               and reference.lower() not in by_reference]
    if missing and not skip_unknown:
        raise NotFound(f"No user of this account: {', '.join(missing)}", error_code="user_not_found",
                       details={"participants": missing})
    contexts, seen = [], set()
    for reference in references:
        user = by_reference.get(reference) or by_reference.get(reference.lower())
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        scheduling = skill_view(user.preferences_data or {}, "scheduling")
        read = set(scheduling["calendars"]["read"])
        calendars = list({calendar.id: calendar for calendar in calendars_of[user.id]
                          if not read or calendar.reference_id in read}.values())
        zone = zone_or_none(user.timezone) or zone_or_none(user.primary_zone) or ZoneInfo("UTC")
        contexts.append(ParticipantContext(user=user, scheduling=scheduling, zone=zone, calendars=calendars))
    return contexts


@cache
def _participants_sql(vendor: str) -> tuple:
    """`participants_load`'s query, written as SQL (`tskr.infra.sql` says why: availability and every
    agent step load their participants): the users named by id or lower-cased email, each with the
    stored preferences of their primary identifier (email first) and their primary calendar's timezone
    as subqueries, and their calendar links of the account with the calendars (one row each, primary
    first, then by name: a user without any has one row of NULLs)."""
    users, calendars = Columns(User, "u"), Columns(Calendar, "c")
    data = IdentifierPreferences._meta.get_field("data")
    sql = (f"SELECT {users.sql},"
           f" (SELECT p.{quote(data.column)} FROM {table(IdentifierPreferences)} p"
           f" JOIN {table(UserIdentifier)} i ON i.id = p.user_identifier_id"
           f" WHERE i.user_id = u.id AND i.{quote('primary')}"
           f" ORDER BY CASE WHEN i.type = '{UserIdentifier.Type.EMAIL}' THEN 0 ELSE 1 END LIMIT 1),"
           f" (SELECT pc.timezone FROM {table(UserCalendar)} pl JOIN {table(Calendar)} pc ON pc.id = pl.calendar_id"
           f" WHERE pl.user_id = u.id AND pl.is_primary AND pc.timezone <> '' ORDER BY pl.id LIMIT 1),"
           f" {calendars.sql} FROM {table(User)} u"
           f" LEFT JOIN {table(UserCalendar)} l ON l.user_id = u.id AND l.account_id = %s"
           f" LEFT JOIN {table(Calendar)} c ON c.id = l.calendar_id"
           f" WHERE u.account_id = %s AND (u.id IN ({{ids}}) OR LOWER(u.email) IN ({{emails}}))"
           f" ORDER BY u.id, l.is_primary DESC, c.name, l.id")
    return sql, users, calendars, converters(data, "p")


def _busy_events(*, calendar_ids: list[str], start: datetime, end: datetime) -> QuerySet[CalendarEvent]:
    """Busy synced occurrences, except the events TSKR booked: those count through their meetings
    (`_booked_meetings`), which are busy at once and never twice (the sync recognises them by provider
    event id); a cancelled meeting's event, not yet synced away, no longer blocks time either."""
    booked = _meetings().all.filter(calendar_id=OuterRef("calendar_id"), provider_event_id=OuterRef("provider_id"))
    return CalendarEvent.objects.filter(BUSY, ~Exists(booked), calendar_id__in=calendar_ids,
                                        start__lt=end + MARGIN, end__gt=start - MARGIN)


def _meetings() -> hooks.BookedMeetings:
    """tasks_app's meetings, through a hook: it sits above calendars_app."""
    [meetings] = hooks.booked_meetings()
    return meetings


def _booked_meetings(*, user_ids: list[str], start: datetime, end: datetime,
                     exclude_meeting_id: str | None = None) -> QuerySet:
    """The users' TSKR meetings holding time (pending or booked) around `[start, end)`."""
    meetings = _meetings().holding_time.filter(owner_id__in=user_ids, start_at__lt=end + MARGIN,
                                               end_at__gt=start - MARGIN)
    return meetings.exclude(id=exclude_meeting_id) if exclude_meeting_id else meetings


def participants_busy_load(*, participants: list[ParticipantContext], start: datetime,
                           end: datetime) -> list[list[Occurrence]]:
    """Each participant's busy occurrences around `[start, end)`, in one query for all of them whatever
    their number (a calendar two participants read counts for both): their synced events and, in the
    same query (UNION ALL), the meetings TSKR booked for them, keyed by the user's id instead of a
    calendar's (`_busy_sql`: the same rows as `_busy_events` and `_booked_meetings`, written as SQL)."""
    if not participants:
        return []
    readers: dict[str, list[int]] = {}
    for index, participant in enumerate(participants):
        for key in [*participant.calendar_ids, participant.user.id]:
            readers.setdefault(key, []).append(index)
    found: list[list[Occurrence]] = [[] for _ in participants]
    calendar_ids = [key for participant in participants for key in participant.calendar_ids]
    user_ids = [participant.user.id for participant in participants]
    sql, holding_params = _busy_sql(connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    until, since = adapt(end + MARGIN), adapt(start - MARGIN)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(calendars=", ".join(["%s"] * len(calendar_ids)) or "NULL",
                                  users=", ".join(["%s"] * len(user_ids))),
                       [*calendar_ids, until, since, *holding_params, *user_ids, until, since])
        rows = cursor.fetchall()
    utc, instant = dt_timezone.utc, datetime.fromtimestamp
    for calendar_id, begin, finish, all_day, start_date, end_date in rows:
        if all_day and isinstance(start_date, str):
            start_date, end_date = date.fromisoformat(start_date), date.fromisoformat(end_date)
        occurrence = Occurrence(instant(begin, utc), instant(finish, utc), bool(all_day), start_date, end_date)
        for index in readers[calendar_id]:
            found[index].append(occurrence)
    return found


@cache
def _busy_sql(vendor: str) -> tuple[str, list]:
    """`participants_busy_load`'s query, written as SQL (`tskr.infra.sql` says why: availability and every
    agent step read it; building it through the ORM cost as much as running it). Instants come back as
    whole seconds since 1970 (providers send whole seconds): psycopg turns `timestamptz` text into
    datetimes slowly, and availability reads thousands; numbers are fetched much faster
    (bench/README.md, "Measurements behind the code"); SQLite's stored text goes through julianday (a
    float, hence the rounding). The meetings are tasks_app's, reached through the hook
    (`_meetings`): their table and the condition of those holding time are compiled once from its
    querysets, whose SQL never changes."""
    meetings = _meetings()
    table_name = table(meetings.all.model)
    # the holding condition itself (not `id IN (its query)`, a self-join the planner misjudged while the
    # table was young), written on the table's own name, as the branch below reads it
    query = meetings.holding_time.query
    holding, holding_params = query.get_compiler(connection=connection).compile(query.where)
    epoch = ("ROUND(EXTRACT(EPOCH FROM {}))::bigint" if vendor == "postgresql"
             else "CAST(ROUND((julianday({}) - 2440587.5) * 86400.0) AS INTEGER)")
    busy = (f"e.status <> '{CalendarEvent.Status.CANCELLED}' AND e.transparency = '{CalendarEvent.Transparency.OPAQUE}'"
            f" AND e.response_status <> '{CalendarEvent.ResponseStatus.DECLINED}'")
    sql = (f"SELECT e.calendar_id, {epoch.format('e.start')}, {epoch.format('e.' + quote('end'))},"
           f" e.all_day, e.start_date, e.end_date FROM {table(CalendarEvent)} e"
           f" WHERE e.calendar_id IN ({{calendars}}) AND e.start < %s AND e.{quote('end')} > %s AND {busy}"
           f" AND NOT EXISTS (SELECT 1 FROM {table_name} b WHERE b.calendar_id = e.calendar_id"
           f" AND b.provider_event_id = e.provider_id)"
           f" UNION ALL SELECT {table_name}.owner_id, {epoch.format(table_name + '.start_at')},"
           f" {epoch.format(table_name + '.end_at')}, FALSE, NULL, NULL"
           f" FROM {table_name} WHERE {holding.replace('{', '{{').replace('}', '}}')}"
           f" AND {table_name}.owner_id IN ({{users}}) AND {table_name}.start_at < %s AND {table_name}.end_at > %s")
    return sql, list(holding_params)


def participant_busy_events(*, participant: ParticipantContext, start: datetime,
                            end: datetime) -> list[CalendarEvent]:
    """The same synced occurrences as rows (ids and titles), for the conflicts of one proposed time."""
    if not participant.calendars:
        return []
    return list(_busy_events(calendar_ids=participant.calendar_ids, start=start, end=end).order_by("start", "id"))


def booking_conflicts(*, context: ParticipantContext, start: datetime, end: datetime,
                      exclude_meeting_id: str | None = None) -> dict:
    """What stands in the way of booking `[start, end)` for `user` (`GET /scheduling/conflicts`'s rules,
    the meeting's own duration): their busy synced events, their other TSKR meetings (a reschedule
    ignores the meeting itself) and the rules the time breaks. `events` items carry `eventId` or
    `meetingId`; `issues` the rule reasons. `context` comes from `participants_load`."""
    user = context.user
    events = participant_busy_events(participant=context, start=start, end=end)
    meetings = list(_booked_meetings(user_ids=[user.id], start=start, end=end, exclude_meeting_id=exclude_meeting_id)
                    .order_by("start_at", "id"))
    occurrences = [Occurrence(*(getattr(event, name) for name in OCCURRENCE_FIELDS)) for event in events]
    occurrences += [Occurrence(meeting.start_at, meeting.end_at, False, None, None) for meeting in meetings]
    participant = Participant(zone=context.zone, rules=Rules.from_preferences(context.scheduling),
                              occurrences=occurrences)
    overlapping = []
    for event, occurrence in zip(events, occurrences):
        busy_start, busy_end = occurrence_interval(occurrence, context.zone)
        if busy_start < end and busy_end > start:
            overlapping.append({"eventId": event.id, "calendarId": event.calendar_id, "title": event.title,
                                "start": event.start, "end": event.end, "reason": "busy"})
    overlapping += [{"meetingId": meeting.id, "calendarId": meeting.calendar_id, "title": meeting.title,
                     "start": meeting.start_at, "end": meeting.end_at, "reason": "booked"}
                    for meeting in meetings if meeting.start_at < end and meeting.end_at > start]
    issues = time_issues(participant, start=start, end=end, now=timezone.now())
    return {"events": overlapping, "issues": [{"reason": reason} for reason in issues]}


MAX_WINDOW = timedelta(days=62)


def availability_find(*, account: Account, participants: list[str], start: datetime, end: datetime, zone: ZoneInfo,
                      duration: int | None, meeting_type: str, interval: int, minimum_notice: int,
                      limit: int) -> dict:
    """`POST /availability`: collective slots of the participants (see calendars_app.availability.slots).

    Queries: one for the participants (`participants_load`), one for all their busy occurrences
    (`participants_busy_load`): two whatever the number of participants and occurrences. The default duration is the first participant's meeting default
    for `meeting_type`.
    """
    contexts = participants_load(account=account, references=participants)
    if duration is None:
        duration = contexts[0].scheduling["defaults"][meeting_type]["duration"]
    occurrences = participants_busy_load(participants=contexts, start=start, end=end)
    people = [Participant(zone=context.zone, rules=Rules.from_preferences(context.scheduling), occurrences=busy)
              for context, busy in zip(contexts, occurrences)]
    found = find_slots(people, start=start, end=end, now=timezone.now(), duration=timedelta(minutes=duration),
                       interval=interval, zone=zone, minimum_notice=timedelta(minutes=minimum_notice), limit=limit)
    return {
        "timezone": zone.key, "duration": duration,
        "slots": [{"start": slot_start, "end": slot_end, "localStart": slot_start.astimezone(zone).isoformat(),
                   "localEnd": slot_end.astimezone(zone).isoformat()} for slot_start, slot_end in found.slots],
        "emptyReason": found.empty_reason,
        "participants": [{"userId": context.user.id, "timezone": context.zone.key,
                          "calendars": context.calendar_ids, "lastSyncedAt": context.last_synced_at,
                          "syncError": context.sync_error} for context in contexts],
    }


def scheduling_conflicts_get(*, account: Account, user_reference: str, start: datetime, end: datetime) -> dict:
    """`GET /scheduling/conflicts`: what `booking_conflicts` finds for the user (the busy synced
    occurrences `[start, end)` overlaps, an all-day one by the user's local dates; their TSKR meetings;
    the rules it breaks). `hasConflict` is true when there is either."""
    [context] = participants_load(account=account, references=[user_reference])
    conflicts = booking_conflicts(context=context, start=start, end=end)
    return {"hasConflict": bool(conflicts["events"] or conflicts["issues"]), **conflicts}
