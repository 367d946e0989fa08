"""Background entry points for webhooks: each takes ids plus `account_id` and calls a delivery service.

No Celery retries: a failed attempt is rescheduled in the delivery row itself (its retry schedule),
and the periodic sweep takes whatever a lost task or a dead worker left behind.
"""
from celery import shared_task

from . import delivery

# No result is read back: not storing one saves a Redis write per delivery.
_LIMITS = {"soft_time_limit": 60, "time_limit": 90, "ignore_result": True}


@shared_task(name="accounts.dispatch_event", acks_late=True, **_LIMITS)
def dispatch_event(event_id: str, account_id: str) -> None:
    """Fan a committed event out to the account's endpoints and make each delivery's first attempt.
    Idempotent: the fan-out and each attempt are claimed by conditional UPDATEs."""
    for delivery_id in delivery.event_dispatch(event_id=event_id, account_id=account_id):
        delivery.delivery_attempt(delivery_id=delivery_id, account_id=account_id)


@shared_task(name="accounts.deliver_webhook", acks_late=True, **_LIMITS)
def deliver_webhook(delivery_id: str, account_id: str) -> None:
    delivery.delivery_attempt(delivery_id=delivery_id, account_id=account_id)


@shared_task(name="accounts.sweep_webhooks", soft_time_limit=300, time_limit=330, ignore_result=True)
def sweep_webhooks() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): queue every due delivery, dispatch lost events, expire old ones."""
    return delivery.webhooks_sweep(deliver=lambda delivery_id, account_id: deliver_webhook.delay(delivery_id,
                                                                                                account_id))
