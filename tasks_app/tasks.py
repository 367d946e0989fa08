"""Background entry points of the tasks app: each calls a service."""
from celery import shared_task

from . import agent, approvals, reminders, schedule, services
from .agent import AgentBusy


@shared_task(name="tasks_app.meetings_finish_pending", soft_time_limit=240, time_limit=270)
def meetings_finish_pending() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, every minute): finish the meetings left `pending` by a provider
    timeout, a 5xx or a crash. Safe to run twice on one meeting: each is claimed by a conditional update,
    and the provider ids are derived from the meeting. Returns how many got booked."""
    return sum(services.meeting_finish_pending(account_id=account_id, meeting_id=meeting_id)
               for account_id, meeting_id in services.meetings_pending_due())


@shared_task(name="tasks_app.expire_approvals", soft_time_limit=240, time_limit=270)
def expire_approvals() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, every minute): expire the approvals left pending past their
    `expiresAt`, each with its `approval.expired` event. Returns how many."""
    return approvals.approvals_expire()


@shared_task(name="tasks_app.dispatch_due_actions", soft_time_limit=110, time_limit=120, ignore_result=True)
def dispatch_due_actions() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE, every TSKR_DISPATCH_INTERVAL_SECONDS): fire the scheduled actions
    that fell due. Several passes may run at once on several workers: each row is claimed by one of them
    (SKIP LOCKED) and fired in a transaction guarded by its claim, so nothing fires twice."""
    return schedule.actions_dispatch_due()


@shared_task(name="tasks_app.plan_meeting_reminders", soft_time_limit=240, time_limit=270, ignore_result=True)
def plan_meeting_reminders() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, every 15 minutes): move every user's meeting-reminder window on
    (reminders are planned 48 hours ahead). Idempotent: planning is keyed by meeting, channel and start."""
    return reminders.meeting_reminders_plan_all()


@shared_task(name="tasks_app.agent_task_start", acks_late=True, autoretry_for=(AgentBusy,), retry_backoff=1,
             retry_backoff_max=30, retry_jitter=True, max_retries=5, soft_time_limit=45, time_limit=60)
def agent_task_start(task_id: str, account_id: str) -> None:
    """The scheduling agent's first step on a task chat processing created (queued after its commit).
    Idempotent (a planned task is left alone), so `acks_late` redelivery is safe; a task held by another
    run (AgentBusy) is retried with jittered backoff."""
    agent.task_start(account_id=account_id, task_id=task_id)
