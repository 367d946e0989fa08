"""Provider adapters behind one interface: `calendars`, `events` and `contacts` page generators."""
from collections.abc import Iterator
from datetime import datetime

from . import google, microsoft
from .base import ApiSession
from .records import Page


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
