"""A real Celery worker delivering webhooks, killed mid-delivery: the sweep delivers the event anyway."""
import signal
import time

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.events import event_emit
from accounts.models import EventType, WebhookDelivery
from tskr.testing import running_celery_worker

from .test_webhooks import create_webhook, deliver_due
from .webhook_receiver import Answer


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing(manager, receiver, monkeypatch):
    monkeypatch.setenv("TSKR_WEBHOOKS_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("TSKR_WEBHOOK_TIMEOUT_SECONDS", "1")  # the worker's claim lease: 13 s
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(pause=60))  # the first attempt hangs until the worker is gone
    with running_celery_worker() as worker:
        with transaction.atomic():
            event = event_emit(account_id=manager.account.id, type=EventType.TASK_CREATED, data={"id": "task_1"})
        assert receiver.arrived.wait(20), "the worker never delivered"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.claimed_until > timezone.now()
    assert deliver_due()["delivered"] == 0  # the dead worker's claim still holds

    time.sleep(max(0.0, (delivery.claimed_until - timezone.now()).total_seconds()) + 0.2)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]
