"""Background entry points: each loads by id (re-scoped to the account) and calls a service."""
from celery import shared_task

from . import services


@shared_task(name="conversations.process_chat_job", acks_late=True, autoretry_for=(services.ChatJobDeferred,),
             retry_backoff=1, retry_backoff_max=30, retry_jitter=True, max_retries=services.MAX_JOB_ATTEMPTS,
             soft_time_limit=services.JOB_TIME_LIMIT_SECONDS - 15, time_limit=services.JOB_TIME_LIMIT_SECONDS)
def process_chat_job(job_id: str, account_id: str) -> None:
    """Process a chat for a queued ChatJob. Idempotent: the service claims the job atomically, so
    `acks_late` redelivery is safe. A busy chat or an AI outage (ChatJobDeferred) is retried with
    jittered exponential backoff, as long as the job has attempts left."""
    services.chat_job_run(job_id=job_id, account_id=account_id)


@shared_task(name="conversations.fail_stale_chat_jobs")
def fail_stale_chat_jobs() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): fail jobs left `running` by a worker that died."""
    return services.chat_jobs_fail_stale()


@shared_task(name="conversations.resend_queued_chat_jobs")
def resend_queued_chat_jobs() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): send again jobs left `queued` whose Celery message was lost."""
    return services.chat_jobs_resend_queued()
