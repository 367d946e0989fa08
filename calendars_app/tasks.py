"""Background entry points of the calendars app: each loads by id (re-scoped to the account) and calls a service."""
from celery import shared_task

from . import services
from .providers.base import ProviderUnavailable


@shared_task(bind=True, name="calendars_app.sync_identifier_resources", acks_late=True,
             autoretry_for=(ProviderUnavailable, services.SyncAlreadyRunning), retry_backoff=5,
             retry_backoff_max=300, retry_jitter=True, max_retries=6, soft_time_limit=900, time_limit=960)
def sync_identifier_resources(self, identifier_id: str, account_id: str) -> dict:
    """Sync one identifier's calendars, events and contacts.

    `acks_late` is safe because the sync is idempotent (provider-id upserts, cursor saved last): a
    worker lost mid-sync leaves the message unacknowledged, it is redelivered and the sync converges.
    A provider outage, or another sync of the same identifier still holding the lock (possibly a dead
    worker's, until the lock expires), is retried with jittered exponential backoff.
    """
    return services.identifier_sync_run(identifier_id=identifier_id, account_id=account_id)


@shared_task(name="calendars_app.sync_all_identifiers", soft_time_limit=120, time_limit=150)
def sync_all_identifiers() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): drop calendars of deleted identifiers, then queue a sync of every
    connected identifier. Returns how many syncs were queued."""
    services.calendar_orphans_delete()
    return services.identifiers_sync_enqueue_all()
