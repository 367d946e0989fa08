"""Microsoft Graph v1.0 (me/calendars, calendarView/delta, contacts/delta), as provider-neutral pages.

Graph pages with absolute `@odata.nextLink` URLs; a delta round ends with `@odata.deltaLink`, used
as-is next time (changes only; deletions as `@removed`). Both links are followed only on the
configured Graph host. `me/calendars` has no delta: it is listed in full every time.
"""
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone as dt_timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from .base import ApiSession, EventGone, NotWritable, ProviderRejected
from .records import EventWrite, Page, RemoteCalendar, RemoteContact, RemoteEvent, WrittenEvent

_CONFERENCE_NAMES = {"teamsForBusiness": "Microsoft Teams", "skypeForBusiness": "Skype for Business",
                     "skypeForConsumer": "Skype"}
_UTC_HEADERS = {"Prefer": 'outlook.timezone="UTC", odata.maxpagesize=100'}


def _pages(session: ApiSession, url: str, params: dict | None, delta_link: str,
           convert: Callable[[dict], object], headers: dict | None = None) -> Iterator[Page]:
    url, query = (delta_link, None) if delta_link else (url, params)
    while True:
        body = session.get(url, query, headers)
        next_link = body.get("@odata.nextLink") or ""
        items = [convert(item) for item in body.get("value") or [] if isinstance(item, dict)]
        yield Page(items=items, last=not next_link, incremental=bool(delta_link),
                   sync_token="" if next_link else body.get("@odata.deltaLink") or "")
        if not next_link:
            return
        url, query = next_link, None


def calendars_for(owner_address: str) -> Callable[[dict], RemoteCalendar]:
    def convert(item: dict) -> RemoteCalendar:
        owner = ((item.get("owner") or {}).get("address") or "").lower()
        if item.get("isDefaultCalendar") or (owner and owner == owner_address.lower()):
            role = "owner"
        else:
            role = "writer" if item.get("canEdit") else "reader"
        return RemoteCalendar(
            reference_id=item["id"], name=item.get("name") or "", timezone="",
            background_color=item.get("hexColor") or "",
            conference_solutions=[_CONFERENCE_NAMES.get(kind, kind)
                                  for kind in item.get("allowedOnlineMeetingProviders") or []],
            role=role, is_primary=bool(item.get("isDefaultCalendar")),
        )
    return convert


def calendars(session: ApiSession, owner_address: str) -> Iterator[Page]:
    return _pages(session, f"{settings.MICROSOFT_GRAPH_API_URL}/me/calendars", {"$top": 100}, "",
                  calendars_for(owner_address))


def _when(value: dict | None) -> datetime | None:
    if not value or not value.get("dateTime"):
        return None
    parsed = datetime.fromisoformat(value["dateTime"][:19])
    try:
        zone = ZoneInfo(value.get("timeZone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt_timezone.utc
    return parsed.replace(tzinfo=zone)


#: Graph `responseStatus.response` -> ours; `organizer` and `none` (nothing to answer) are the user's own.
_RESPONSES = {"accepted": "accepted", "organizer": "accepted", "none": "accepted",
              "tentativelyAccepted": "tentative", "declined": "declined", "notResponded": "needsAction"}


def _day(value: dict | None) -> date | None:
    return date.fromisoformat(value["dateTime"][:10]) if value and value.get("dateTime") else None


def _event(item: dict) -> RemoteEvent:
    """calendarView/delta already expands series into occurrences. `showAs`: free and workingElsewhere
    are free, tentative is a tentative occurrence, busy, oof and unknown are busy. A meeting its organizer
    cancelled stays in an attendee's calendar (`isCancelled`): kept, as cancelled."""
    if "@removed" in item:
        return RemoteEvent(provider_id=item["id"], deleted=True)
    show_as = item.get("showAs") or "busy"
    all_day = bool(item.get("isAllDay"))
    start, end = _when(item.get("start")), _when(item.get("end"))
    start_date, end_date = (_day(item.get("start")), _day(item.get("end"))) if all_day else (None, None)
    if all_day and start_date and end_date:
        start = datetime(start_date.year, start_date.month, start_date.day, tzinfo=dt_timezone.utc)
        end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=dt_timezone.utc)
    if item.get("isCancelled"):
        status = "cancelled"
    else:
        status = "tentative" if show_as == "tentative" else "confirmed"
    response = (item.get("responseStatus") or {}).get("response") or "none"
    return RemoteEvent(provider_id=item["id"], title=str(item.get("subject") or "")[:500], start=start, end=end,
                       all_day=all_day, start_date=start_date, end_date=end_date, status=status,
                       transparency="transparent" if show_as in {"free", "workingElsewhere"} else "opaque",
                       response_status=_RESPONSES.get(response, "needsAction"),
                       has_conference=bool(item.get("isOnlineMeeting") or (item.get("onlineMeeting") or {})
                                           .get("joinUrl")))


def events(session: ApiSession, calendar_reference_id: str, delta_link: str,
           window: tuple[datetime, datetime]) -> Iterator[Page]:
    """The calendar view's delta: the window is fixed by the first round's startDateTime/endDateTime and
    remembered by the delta link."""
    url = f"{settings.MICROSOFT_GRAPH_API_URL}/me/calendars/{quote(calendar_reference_id, safe='')}/calendarView/delta"
    params = {"startDateTime": window[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
              "endDateTime": window[1].strftime("%Y-%m-%dT%H:%M:%SZ")}
    return _pages(session, url, params, delta_link, _event, _UTC_HEADERS)


def _contact(item: dict) -> RemoteContact:
    if "@removed" in item:
        return RemoteContact(provider_id=item["id"], deleted=True)
    emails = [str(entry["address"]).lower() for entry in item.get("emailAddresses") or [] if entry.get("address")]
    phones = [item.get("mobilePhone")] + list(item.get("businessPhones") or []) + list(item.get("homePhones") or [])
    return RemoteContact(
        provider_id=item["id"], email=emails[0] if emails else "", emails=emails,
        name=item.get("displayName") or "", phone=next((phone for phone in phones if phone), ""),
        company=item.get("companyName") or "", title=item.get("jobTitle") or "",
    )


def contacts(session: ApiSession, delta_link: str) -> Iterator[Page]:
    return _pages(session, f"{settings.MICROSOFT_GRAPH_API_URL}/me/contacts/delta", None, delta_link, _contact)


# -- booking: create (transactionId), PATCH, cancel -------------------------------------------------

def _local(moment: datetime, zone: str) -> dict:
    """Wall time plus zone: Graph accepts IANA names and shows attendees the intended local time."""
    return {"dateTime": moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def _event_body(event: EventWrite) -> dict:
    body = {"subject": event.title, "start": _local(event.start, event.timezone),
            "end": _local(event.end, event.timezone),
            "attendees": [{"emailAddress": {"address": person["email"], "name": person.get("name") or ""},
                           "type": "required"} for person in event.attendees]}
    if event.location:
        body["location"] = {"displayName": event.location}
    if event.conference == "teams":
        body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    elif event.meeting_link:
        body["body"] = {"contentType": "text", "content": f"Join: {event.meeting_link}"}
    return body


def _written(item: dict, event: EventWrite) -> WrittenEvent:
    join_url = (item.get("onlineMeeting") or {}).get("joinUrl") or ""
    return WrittenEvent(provider_event_id=item["id"], html_link=item.get("webLink") or "",
                        conference_link=join_url or event.meeting_link)


def event_insert(session: ApiSession, calendar_reference_id: str, event: EventWrite) -> WrittenEvent:
    """`POST /me/calendars/{id}/events` with `transactionId`: Graph answers a repeated create with the
    event the first one made."""
    url = f"{settings.MICROSOFT_GRAPH_API_URL}/me/calendars/{quote(calendar_reference_id, safe='')}/events"
    return _written(session.send("POST", url, json={**_event_body(event), "transactionId": event.event_key}), event)


def _url(provider_event_id: str) -> str:
    return f"{settings.MICROSOFT_GRAPH_API_URL}/me/events/{quote(provider_event_id, safe='')}"


def event_patch(session: ApiSession, calendar_reference_id: str, provider_event_id: str,
                event: EventWrite) -> WrittenEvent:
    """Graph sends the organizer's updates to attendees itself; `sendUpdates` has no Graph equivalent."""
    return _written(session.send("PATCH", _url(provider_event_id), json=_event_body(event)), event)


def event_cancel(session: ApiSession, calendar_reference_id: str, provider_event_id: str, *,
                 send_updates: bool) -> None:
    """`POST /me/events/{id}/cancel`, the organizer's cancellation (attendees get the notice). An event
    already gone counts as cancelled; one Graph will not cancel (400: an appointment without attendees
    is not a meeting) is deleted instead."""
    try:
        session.send("POST", f"{_url(provider_event_id)}/cancel", json={"comment": ""})
    except EventGone:
        pass
    except ProviderRejected as exc:
        if isinstance(exc, NotWritable):
            raise
        try:
            session.send("DELETE", _url(provider_event_id))
        except EventGone:
            pass
