"""The sync keeps occurrences: series expanded by the fake Google (singleEvents, timeMin/timeMax) and
Graph (calendarView/delta) servers, exceptions applied, incremental rounds, the window moving forward,
and availability computed from what was synced."""
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.utils import timezone

from calendars_app.models import Calendar, CalendarEvent
from directory.models import IdentifierPreferences

from .conftest import connect, sync

NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = {day: [{"start": "09:00", "end": "17:00"}] for day in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")}


def _next_transition(zone: ZoneInfo) -> date:
    """The next date on which `zone` changes its UTC offset (noon to noon), so the test never dates."""
    day = timezone.now().date() + timedelta(days=7)
    while (datetime.combine(day, time(12), zone).utcoffset()
           == datetime.combine(day + timedelta(days=1), time(12), zone).utcoffset()):
        day += timedelta(days=1)
    return day + timedelta(days=1)


def _utc_stamp(day: date, hour: int, zone: ZoneInfo) -> str:
    return datetime.combine(day, time(hour), zone).astimezone(dt_timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _occurrences(calendar_reference: str) -> dict[str, CalendarEvent]:
    return {event.provider_id: event for event in CalendarEvent.objects.filter(calendar__reference_id=calendar_reference)}


def test_google_series_crossing_a_transition_is_expanded_with_its_moved_and_cancelled_instances(
        providers, identifier, alice):
    transition = _next_transition(NEW_YORK)
    first = transition - timedelta(days=14)  # four weekly instances: two before the change, two after
    days = [first + timedelta(weeks=n) for n in range(4)]
    providers.google_calendar("alice@acme.test", "Alice", primary=True)
    providers.google_series("alice@acme.test", "weekly", f"{first}T10:00:00", f"{first}T11:00:00",
                            time_zone="America/New_York", count=4)
    providers.google_instance_change("alice@acme.test", "weekly", _utc_stamp(days[1], 10, NEW_YORK), cancelled=True)
    moved_to = datetime.combine(days[2], time(15), NEW_YORK)
    providers.google_instance_change("alice@acme.test", "weekly", _utc_stamp(days[2], 10, NEW_YORK),
                                     start=moved_to.isoformat(), end=(moved_to + timedelta(hours=1)).isoformat())
    connect(providers, identifier)
    sync(identifier)

    events = _occurrences("alice@acme.test")
    assert sorted(events) == sorted(f"weekly_{_utc_stamp(day, 10, NEW_YORK)}" for day in (days[0], days[2], days[3]))
    local = sorted(event.start.astimezone(NEW_YORK).strftime("%H:%M") for event in events.values())
    assert local == ["10:00", "10:00", "15:00"]  # 10:00 local on both sides of the change; one moved to 15:00
    offsets = {event.start.astimezone(NEW_YORK).utcoffset() for event in events.values()}
    assert len(offsets) == 2
    listed = next(r for r in providers.requests if r["path"].endswith("/events"))
    assert listed["query"]["singleEvents"] == "true" and "timeMin" in listed["query"] and "timeMax" in listed["query"]

    # Incremental: the last instance is cancelled at Google; the round goes from the sync token.
    providers.google_instance_change("alice@acme.test", "weekly", _utc_stamp(days[3], 10, NEW_YORK), cancelled=True)
    sync(identifier)
    incremental = [r for r in providers.requests if r["path"].endswith("/events")][-1]
    assert "syncToken" in incremental["query"] and "timeMin" not in incremental["query"]
    assert sorted(_occurrences("alice@acme.test")) == sorted(
        f"weekly_{_utc_stamp(day, 10, NEW_YORK)}" for day in (days[0], days[2]))

    # Availability from the synced occurrences: 10:00 New York is busy on the first week only.
    alice.user.timezone = "America/New_York"
    alice.user.save()
    IdentifierPreferences.objects.create(account=alice.account, user_identifier=identifier,
                                         data={"scheduling": {"availability": {"workingHours": EVERY_DAY}}})
    start = datetime.combine(first, time(0), NEW_YORK)
    body = alice.client.post("/availability", {"start": start.isoformat(), "end": (start + timedelta(days=22))
                                               .isoformat(), "limit": 500}).json()["availability"]
    free = {slot["localStart"][:16] for slot in body["slots"]}
    assert f"{days[0]}T10:00" not in free and f"{days[1]}T10:00" in free
    assert f"{days[2]}T15:00" not in free and f"{days[2]}T10:00" in free and f"{days[3]}T10:00" in free


def test_google_occurrence_fields_title_all_day_response_and_conference(providers, identifier):
    providers.google_calendar("alice@acme.test", "Alice", primary=True)
    day = timezone.now().date() + timedelta(days=10)
    providers.google_event("alice@acme.test", "offsite", f"{day}", f"{day + timedelta(days=2)}", summary="Offsite")
    providers.google_event("alice@acme.test", "invite", f"{day}T15:00:00Z", f"{day}T16:00:00Z", response="declined",
                           meet=True, summary="Vendor call")
    providers.google_event("alice@acme.test", "pending", f"{day}T17:00:00Z", f"{day}T18:00:00Z",
                           response="needsAction")
    connect(providers, identifier)
    sync(identifier)
    events = _occurrences("alice@acme.test")
    offsite, invite = events["offsite"], events["invite"]
    assert (offsite.all_day, offsite.start_date, offsite.end_date, offsite.title) == (
        True, day, day + timedelta(days=2), "Offsite")
    assert offsite.start == datetime.combine(day, time(0), dt_timezone.utc)
    assert (invite.response_status, invite.has_conference, invite.title) == ("declined", True, "Vendor call")
    assert events["pending"].response_status == "needsAction" and not events["pending"].has_conference


def test_graph_calendar_view_expands_series_and_maps_show_as_responses_and_cancellations(providers, identifier):
    providers.graph_calendar("AAMk-default", "Calendar", default=True, owner="alice@acme.test")
    transition = _next_transition(NEW_YORK)
    first = transition - timedelta(days=7)
    providers.graph_series("AAMk-default", "series", f"{first}T09:00:00.0000000", f"{first}T09:30:00.0000000",
                           time_zone="America/New_York", count=3)
    day = timezone.now().date() + timedelta(days=5)
    for event_id, show_as in (("free", "free"), ("elsewhere", "workingElsewhere"), ("tentative", "tentative"),
                              ("away", "oof")):
        providers.graph_event("AAMk-default", event_id, f"{day}T10:00:00", f"{day}T11:00:00", show_as=show_as)
    providers.graph_event("AAMk-default", "declined", f"{day}T12:00:00", f"{day}T13:00:00", response="declined")
    providers.graph_event("AAMk-default", "unanswered", f"{day}T12:00:00", f"{day}T13:00:00",
                          response="notResponded", online=True)
    providers.graph_event("AAMk-default", "called-off", f"{day}T14:00:00", f"{day}T15:00:00", cancelled=True)
    providers.graph_event("AAMk-default", "holiday", f"{day}T00:00:00", f"{day + timedelta(days=1)}T00:00:00",
                          all_day=True)
    connect(providers, identifier, "azure")
    sync(identifier)

    events = _occurrences("AAMk-default")
    series = sorted((e for e in events.values() if e.provider_id.startswith("series-")), key=lambda e: e.start)
    assert [e.start.astimezone(NEW_YORK).strftime("%H:%M") for e in series] == ["09:00", "09:00", "09:00"]
    assert len({e.start.astimezone(NEW_YORK).utcoffset() for e in series}) == 2
    assert {key: (events[key].transparency, events[key].status) for key in ("free", "elsewhere", "tentative",
                                                                             "away")} == {
        "free": ("transparent", "confirmed"), "elsewhere": ("transparent", "confirmed"),
        "tentative": ("opaque", "tentative"), "away": ("opaque", "confirmed")}
    assert events["declined"].response_status == "declined" and events["unanswered"].response_status == "needsAction"
    assert events["unanswered"].has_conference and events["called-off"].status == "cancelled"
    assert (events["holiday"].all_day, events["holiday"].start_date) == (True, day)

    providers.graph_delete_event("AAMk-default", "away")
    sync(identifier)
    assert "away" not in _occurrences("AAMk-default")
    assert "$deltatoken" in [r for r in providers.requests if r["path"].endswith("/calendarView/delta")][-1]["query"]


def test_the_occurrence_window_bounds_the_sync_and_moves_forward_with_a_daily_full_round(
        providers, identifier, settings):
    settings.TSKR_SYNC_EVENTS_PAST_DAYS, settings.TSKR_SYNC_EVENTS_FUTURE_DAYS = 7, 180
    now = timezone.now()
    stamp = lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    providers.google_calendar("alice@acme.test", "Alice", primary=True)
    for event_id, days in (("old", -30), ("recent", -3), ("soon", 10), ("far", 200)):
        start = now + timedelta(days=days)
        providers.google_event("alice@acme.test", event_id, stamp(start), stamp(start + timedelta(hours=1)))
    connect(providers, identifier)
    sync(identifier)
    assert sorted(_occurrences("alice@acme.test")) == ["recent", "soon"]
    calendar = Calendar.objects.get(reference_id="alice@acme.test")
    assert calendar.events_window_start < now - timedelta(days=6)
    assert calendar.events_window_end > now + timedelta(days=179)

    sync(identifier)  # a fresh window: the next round goes from the cursor
    assert "syncToken" in [r for r in providers.requests if r["path"].endswith("/events")][-1]["query"]

    # A day and more later the window has aged: a full round from the moved window drops what fell out.
    Calendar.objects.filter(id=calendar.id).update(events_window_start=now - timedelta(days=9))
    providers.google_event("alice@acme.test", "recent", stamp(now - timedelta(days=8)), stamp(now - timedelta(days=8)
                                                                                             + timedelta(hours=1)))
    sync(identifier)
    last = [r for r in providers.requests if r["path"].endswith("/events")][-1]["query"]
    assert "syncToken" not in last and "timeMin" in last
    assert sorted(_occurrences("alice@acme.test")) == ["soon"]
    assert Calendar.objects.get(id=calendar.id).events_window_start > now - timedelta(days=8)
