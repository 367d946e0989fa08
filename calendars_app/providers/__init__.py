"""Provider adapters behind one interface: `calendars`, `events` and `contacts` page generators, and the
booking writes (`event_insert`, `event_patch`, `event_cancel`)."""
from collections.abc import Iterator
from datetime import datetime

from . import google, microsoft
from .base import ApiSession
from .records import EventWrite, Page, WrittenEvent


def calendar_pages(platform: str, session: ApiSession, *, sync_token: str, owner_address: str) -> Iterator[Page]:
    if platform == "google":
        return google.calendars(session, sync_token)
    return microsoft.calendars(session, owner_address)


def event_pages(platform: str, session: ApiSession, *, reference_id: str, sync_token: str,
                window: tuple[datetime, datetime]) -> Iterator[Page]:
    """Occurrences (series expanded) in `window` on a full round; changes since the cursor otherwise."""
    module = google if platform == "google" else microsoft
    return module.events(session, reference_id, sync_token, window)


def contact_pages(platform: str, session: ApiSession, *, sync_token: str) -> Iterator[Page]:
    module = google if platform == "google" else microsoft
    return module.contacts(session, sync_token)


def _module(platform: str):
    return google if platform == "google" else microsoft


def event_insert(platform: str, session: ApiSession, *, reference_id: str, event: EventWrite) -> WrittenEvent:
    return _module(platform).event_insert(session, reference_id, event)


def event_patch(platform: str, session: ApiSession, *, reference_id: str, provider_event_id: str,
                event: EventWrite) -> WrittenEvent:
    return _module(platform).event_patch(session, reference_id, provider_event_id, event)


def event_cancel(platform: str, session: ApiSession, *, reference_id: str, provider_event_id: str,
                 send_updates: bool) -> None:
    _module(platform).event_cancel(session, reference_id, provider_event_id, send_updates=send_updates)
