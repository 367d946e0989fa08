from celery import shared_task


@shared_task(name="tskr.ping")
def ping(value: str) -> str:
    """A no-op task: proves the broker and a worker are reachable (used by the worker test)."""
    return value
