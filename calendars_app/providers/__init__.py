"""Provider adapters behind one interface: `calendars`, `events` and `contacts` page generators."""
from collections.abc import Iterator

from . import google, microsoft
from .base import ApiSession
from .records import Page


def calendar_pages(platform: str, session: ApiSession, *, sync_token: str, owner_address: str) -> Iterator[Page]:
    if platform == "google":
        return google.calendars(session, sync_token)
    return microsoft.calendars(session, owner_address)


def event_pages(platform: str, session: ApiSession, *, reference_id: str, sync_token: str) -> Iterator[Page]:
    module = google if platform == "google" else microsoft
    return module.events(session, reference_id, sync_token)


def contact_pages(platform: str, session: ApiSession, *, sync_token: str) -> Iterator[Page]:
    module = google if platform == "google" else microsoft
    return module.contacts(session, sync_token)
