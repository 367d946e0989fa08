from celery import shared_task

from .api.idempotency import idempotency_keys_purge


@shared_task(name="tskr.ping")
def ping(value: str) -> str:
    """A no-op task: proves the broker and a worker are reachable (used by the worker test)."""
    return value


@shared_task(name="tskr.purge_idempotency_keys", soft_time_limit=240, time_limit=300)
def purge_idempotency_keys() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, hourly): delete Idempotency-Keys older than TSKR_IDEMPOTENCY_TTL_HOURS.
    Idempotent by nature (a second run finds nothing to delete)."""
    return idempotency_keys_purge()
