"""What the provider adapters yield: provider-neutral records, one page at a time."""
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class RemoteCalendar:
    reference_id: str
    deleted: bool = False
    name: str = ""
    timezone: str = ""
    background_color: str = ""
    conference_solutions: list = field(default_factory=list)
    role: str = "reader"
    is_primary: bool = False


@dataclass(frozen=True)
class RemoteEvent:
    """One occurrence (a single event or one instance of a series). All-day: `start`/`end` are UTC
    midnights of `start_date`/`end_date` (exclusive), the local dates the provider sent."""

    provider_id: str
    deleted: bool = False
    title: str = ""
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    status: str = "confirmed"
    transparency: str = "opaque"
    response_status: str = "accepted"
    has_conference: bool = False


@dataclass(frozen=True)
class RemoteContact:
    provider_id: str
    deleted: bool = False
    email: str = ""
    name: str = ""
    phone: str = ""
    company: str = ""
    title: str = ""
    emails: list = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """One provider page. On the last page `sync_token` is the cursor to start from next time
    ("" when the resource has no incremental mode); `incremental` says whether the items are only
    the changes since the cursor passed in (so absence means "unchanged", not "gone")."""

    items: list
    last: bool
    incremental: bool
    sync_token: str = ""


@dataclass(frozen=True)
class EventWrite:
    """A TSKR meeting as an event to create or update on the organizer's calendar.

    `event_key` is the meeting's id: the Graph `transactionId` and the seed of Google's event id, so a
    repeated create finds the first one instead of making a second event. `start`/`end` are aware
    instants; they are written as wall times in `timezone` (IANA) so attendees see the intended local
    time across DST.
    """

    event_key: str
    google_event_id: str
    title: str
    start: datetime
    end: datetime
    timezone: str
    attendees: list  # [{"email", "name"}]
    location: str = ""
    conference: str = "none"  # meet | teams | zoom | none
    meeting_link: str = ""  # zoom's (or any given) link, written into the event
    send_updates: bool = True


@dataclass(frozen=True)
class WrittenEvent:
    provider_event_id: str
    html_link: str = ""
    conference_link: str = ""
