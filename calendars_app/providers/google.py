"""Google Calendar v3 (calendarList, events) and People v1 (connections), as provider-neutral pages.

Google pages with `pageToken`/`nextPageToken`; the last page carries `nextSyncToken`, sent back as
`syncToken` next time (changes only, deletions included). An expired token answers 410.
"""
from collections.abc import Callable, Iterator
from datetime import datetime, timezone as dt_timezone
from urllib.parse import quote

from django.conf import settings

from .base import ApiSession
from .records import Page, RemoteCalendar, RemoteContact, RemoteEvent

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


def _when(value: dict | None) -> tuple[datetime | None, bool]:
    if not value:
        return None, False
    if value.get("dateTime"):
        parsed = datetime.fromisoformat(value["dateTime"])
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)), False
    if value.get("date"):
        return datetime.fromisoformat(value["date"]).replace(tzinfo=dt_timezone.utc), True
    return None, False


def _event(item: dict) -> RemoteEvent:
    if item.get("status") == "cancelled":
        return RemoteEvent(provider_id=item["id"], deleted=True)
    start, all_day = _when(item.get("start"))
    end, _ = _when(item.get("end"))
    return RemoteEvent(provider_id=item["id"], start=start, end=end, all_day=all_day,
                       status="tentative" if item.get("status") == "tentative" else "confirmed",
                       transparency="transparent" if item.get("transparency") == "transparent" else "opaque")


def events(session: ApiSession, calendar_reference_id: str, sync_token: str) -> Iterator[Page]:
    url = f"{settings.GOOGLE_CALENDAR_API_URL}/calendars/{quote(calendar_reference_id, safe='')}/events"
    return _pages(session, url, {"maxResults": 250}, sync_token, "items", _event)


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
