"""Writes of the calendars app: OAuth grants (`oauth`) and resource sync (`sync`)."""
from .oauth import (
    identifier_platform_flags_set, oauth_access_get, oauth_access_revoke, oauth_access_set, oauth_callback_complete,
    oauth_connect_start, oauth_tokens_reencrypt,
)
from .sync import (
    SyncAlreadyRunning, SyncResult, calendar_orphans_delete, identifier_sync_calendars, identifier_sync_enqueue,
    identifier_sync_requested, identifier_sync_resources, identifier_sync_run, identifiers_sync_enqueue_all,
)

__all__ = [
    "SyncAlreadyRunning", "SyncResult", "calendar_orphans_delete", "identifier_platform_flags_set", "identifier_sync_calendars",
    "identifier_sync_enqueue", "identifier_sync_requested", "identifier_sync_resources", "identifier_sync_run", "identifiers_sync_enqueue_all",
    "oauth_access_get", "oauth_access_revoke", "oauth_access_set", "oauth_callback_complete", "oauth_connect_start",
    "oauth_tokens_reencrypt",
]
