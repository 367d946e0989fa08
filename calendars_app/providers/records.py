"""What the provider adapters yield: provider-neutral records, one page at a time."""
from dataclasses import dataclass, field
from datetime import datetime


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
    provider_id: str
    deleted: bool = False
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    status: str = "confirmed"
    transparency: str = "opaque"


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
