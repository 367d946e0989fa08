"""Google Calendar v3 (calendarList, events) and People v1 (connections), as provider-neutral pages.

Google pages with `pageToken`/`nextPageToken`; the last page carries `nextSyncToken`, sent back as
`syncToken` next time (changes only, deletions included). An expired token answers 410.
Events are listed with `singleEvents=true`: recurring series come expanded into their instances, moved
and cancelled exceptions applied, within `timeMin`/`timeMax` on a full round (Google refuses those two
with a `syncToken`; the token remembers the window).
"""
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone as dt_timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings

from .base import AlreadyExists, ApiSession, EventGone, ProviderRejected
from .records import EventWrite, Page, RemoteCalendar, RemoteContact, RemoteEvent, WrittenEvent

_ROLES = {"owner": "owner", "writer": "writer", "reader": "reader", "freeBusyReader": "reader"}
_CONFERENCE_NAMES = {"hangoutsMeet": "Google Meet", "eventHangout": "Google Hangouts",
                     "eventNamedHangout": "Google Hangouts", "addOn": "Add-on"}
PEOPLE_FIELDS = "names,emailAddresses,phoneNumbers,organizations,metadata"


def _pages(session: ApiSession, url: str, params: dict, sync_token: str, items_key: str,
           convert: Callable[[dict], object]) -> Iterator[Page]:
    page_token = ""
    while True:
        query = dict(params)
        if sync_token:
            query["syncToken"] = sync_token
        if page_token:
            query["pageToken"] = page_token
        body = session.get(url, query)
        page_token = body.get("nextPageToken") or ""
        items = [convert(item) for item in body.get(items_key) or [] if isinstance(item, dict)]
        yield Page(items=items, last=not page_token, incremental=bool(sync_token),
                   sync_token="" if page_token else body.get("nextSyncToken") or "")
        if not page_token:
            return


def _calendar(item: dict) -> RemoteCalendar:
    if item.get("deleted"):
        return RemoteCalendar(reference_id=item["id"], deleted=True)
    solutions = (item.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes") or []
    return RemoteCalendar(
        reference_id=item["id"], name=item.get("summaryOverride") or item.get("summary") or "",
        timezone=item.get("timeZone") or "", background_color=item.get("backgroundColor") or "",
        conference_solutions=[_CONFERENCE_NAMES.get(kind, kind) for kind in solutions],
        role=_ROLES.get(item.get("accessRole"), "reader"), is_primary=bool(item.get("primary")),
    )


def calendars(session: ApiSession, sync_token: str) -> Iterator[Page]:
    url = f"{settings.GOOGLE_CALENDAR_API_URL}/users/me/calendarList"
    return _pages(session, url, {"maxResults": 250}, sync_token, "items", _calendar)


def _when(value: dict | None) -> tuple[datetime | None, date | None]:
    """(instant, local date of an all-day event): an all-day value's instant is its date's UTC midnight."""
    if not value:
        return None, None
    if value.get("dateTime"):
        parsed = datetime.fromisoformat(value["dateTime"])
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)), None
    if value.get("date"):
        day = date.fromisoformat(value["date"])
        return datetime(day.year, day.month, day.day, tzinfo=dt_timezone.utc), day
    return None, None


_RESPONSES = {"accepted", "tentative", "declined", "needsAction"}


def _own_response(item: dict) -> str:
    """The synced user's answer: their attendee entry (`self`); their own event without attendees is accepted."""
    for attendee in item.get("attendees") or []:
        if isinstance(attendee, dict) and attendee.get("self"):
            response = attendee.get("responseStatus")
            return response if response in _RESPONSES else "needsAction"
    return "accepted"


def _event(item: dict) -> RemoteEvent:
    if item.get("status") == "cancelled":  # deleted, or a cancelled instance of a series
        return RemoteEvent(provider_id=item["id"], deleted=True)
    start, start_date = _when(item.get("start"))
    end, end_date = _when(item.get("end"))
    conference = item.get("conferenceData") or {}
    return RemoteEvent(provider_id=item["id"], title=str(item.get("summary") or "")[:500], start=start, end=end,
                       all_day=start_date is not None, start_date=start_date, end_date=end_date,
                       status="tentative" if item.get("status") == "tentative" else "confirmed",
                       transparency="transparent" if item.get("transparency") == "transparent" else "opaque",
                       response_status=_own_response(item),
                       has_conference=bool(item.get("hangoutLink") or conference.get("entryPoints")))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def events(session: ApiSession, calendar_reference_id: str, sync_token: str,
           window: tuple[datetime, datetime]) -> Iterator[Page]:
    url = f"{settings.GOOGLE_CALENDAR_API_URL}/calendars/{quote(calendar_reference_id, safe='')}/events"
    params = {"maxResults": 250, "singleEvents": "true"}
    if not sync_token:
        params.update(timeMin=_rfc3339(window[0]), timeMax=_rfc3339(window[1]))
    return _pages(session, url, params, sync_token, "items", _event)


def _first(values: list | None, key: str) -> str:
    for value in values or []:
        if isinstance(value, dict) and value.get(key):
            return str(value[key])
    return ""


def _contact(person: dict) -> RemoteContact:
    resource = person.get("resourceName", "")
    if (person.get("metadata") or {}).get("deleted"):
        return RemoteContact(provider_id=resource, deleted=True)
    emails = [str(item["value"]).lower() for item in person.get("emailAddresses") or [] if item.get("value")]
    organizations = person.get("organizations") or []
    return RemoteContact(
        provider_id=resource, email=emails[0] if emails else "", emails=emails,
        name=_first(person.get("names"), "displayName"), phone=_first(person.get("phoneNumbers"), "value"),
        company=_first(organizations, "name"), title=_first(organizations, "title"),
    )


def contacts(session: ApiSession, sync_token: str) -> Iterator[Page]:
    url = f"{settings.GOOGLE_PEOPLE_API_URL}/people/me/connections"
    params = {"personFields": PEOPLE_FIELDS, "pageSize": 1000, "requestSyncToken": "true"}
    return _pages(session, url, params, sync_token, "connections", _contact)


# -- booking: events.insert / patch / delete ----------------------------------------------------

def _event_url(calendar_reference_id: str, event_id: str = "") -> str:
    url = f"{settings.GOOGLE_CALENDAR_API_URL}/calendars/{quote(calendar_reference_id, safe='')}/events"
    return f"{url}/{quote(event_id, safe='')}" if event_id else url


def _local(moment: datetime, zone: str) -> dict:
    """Wall time plus IANA zone, as Google wants it for events whose local time must hold across DST."""
    return {"dateTime": moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def _event_body(event: EventWrite) -> dict:
    body = {"summary": event.title, "start": _local(event.start, event.timezone),
            "end": _local(event.end, event.timezone), "location": event.location,
            "attendees": [{"email": person["email"], **({"displayName": person["name"]} if person.get("name") else {})}
                          for person in event.attendees]}
    if event.conference == "meet":
        # requestId makes the conference creation itself idempotent for this event
        body["conferenceData"] = {"createRequest": {"requestId": event.event_key,
                                                    "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    elif event.meeting_link:
        body["description"] = f"Join: {event.meeting_link}"
    return body


def _params(event: EventWrite) -> dict:
    return {"sendUpdates": "all" if event.send_updates else "none", "conferenceDataVersion": 1}


def _written(item: dict, event: EventWrite) -> WrittenEvent:
    entry_points = (item.get("conferenceData") or {}).get("entryPoints") or []
    video = next((point.get("uri") for point in entry_points if point.get("entryPointType") == "video"), "")
    return WrittenEvent(provider_event_id=item.get("id") or event.google_event_id, html_link=item.get("htmlLink") or "",
                        conference_link=item.get("hangoutLink") or video or event.meeting_link)


def event_insert(session: ApiSession, calendar_reference_id: str, event: EventWrite) -> WrittenEvent:
    """`events.insert` with the client-chosen id: Google answers 409 when a previous attempt (one that
    timed out, or crashed before saving the answer) already created it; then the event is read back."""
    try:
        item = session.send("POST", _event_url(calendar_reference_id), json={"id": event.google_event_id,
                                                                             **_event_body(event)},
                            params=_params(event))
    except AlreadyExists:
        item = session.get(_event_url(calendar_reference_id, event.google_event_id))
        if item.get("status") == "cancelled":
            raise ProviderRejected("google: the event of this meeting was deleted") from None
    return _written(item, event)


def event_patch(session: ApiSession, calendar_reference_id: str, provider_event_id: str,
                event: EventWrite) -> WrittenEvent:
    item = session.send("PATCH", _event_url(calendar_reference_id, provider_event_id), json=_event_body(event),
                        params=_params(event))
    return _written(item, event)


def event_cancel(session: ApiSession, calendar_reference_id: str, provider_event_id: str, *,
                 send_updates: bool) -> None:
    """`events.delete`, telling the attendees (or not). An event already gone (404/410) is cancelled."""
    try:
        session.send("DELETE", _event_url(calendar_reference_id, provider_event_id),
                     params={"sendUpdates": "all" if send_updates else "none"})
    except EventGone:
        pass
