"""The real dispatcher process (`manage.py deliver_webhooks --loop`) on the test database: woken by commits
through PostgreSQL's NOTIFY, attempts on threads, and killed mid-delivery without losing the event."""
import signal
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.delivery import WAKE_CHANNEL
from accounts.events import event_emit
from accounts.models import EventType, WebhookDelivery
from tskr.testing import running_process, subprocess_env

from .test_webhooks import create_webhook, deliver_due
from .webhook_receiver import Answer, WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def running_dispatcher(*, interval: float = 60.0, threads: int = 4, **env):
    """The dispatcher with a long sweep interval, so that only a commit's wake-up makes it deliver at once."""
    if connection.vendor != "postgresql":
        pytest.skip("the dispatcher is woken by PostgreSQL's NOTIFY")
    command = [sys.executable, "manage.py", "deliver_webhooks", "--loop", "--interval", str(interval),
               "--threads", str(threads)]
    with running_process(command, ready=lambda output: b"dispatcher ready" in output,
                         env={**subprocess_env(), "TSKR_WEBHOOKS_ALLOW_PRIVATE": "true", **env}) as process:
        yield process


def emit_committed(account, task_id: str = "task_1"):
    with transaction.atomic():
        return event_emit(account_id=account.id, type=EventType.TASK_CREATED, data={"id": task_id})


def eventually(condition, within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def arrived(receiver, count: int, within: float) -> bool:
    return eventually(lambda: len(receiver.requests) >= count, within)


def test_emitting_is_one_insert_whose_commit_notifies_the_dispatcher(manager, receiver, django_assert_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("the dispatcher is woken by PostgreSQL's NOTIFY")
    create_webhook(manager, receiver.url)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKE_CHANNEL}")
        # BEGIN, one INSERT per event, COMMIT: nothing else, nor anything after the commit.
        with django_assert_num_queries(4), transaction.atomic():
            event_emit(account_id=manager.account.id, type=EventType.TASK_CREATED, data={"id": "task_1"})
            event_emit(account_id=manager.account.id, type=EventType.TASK_UPDATED, data={"id": "task_1"})
            assert list(listener.notifies(timeout=0.3)) == []  # not before the commit
        assert len(list(listener.notifies(timeout=2))) == 1  # once per transaction
        with transaction.atomic():
            event_emit(account_id=manager.account.id, type=EventType.TASK_CREATED, data={"id": "task_2"})
            transaction.set_rollback(True)
        assert list(listener.notifies(timeout=0.3)) == []  # a rolled-back change wakes nobody
    assert receiver.requests == [] and WebhookDelivery.objects.count() == 0


def test_a_commit_wakes_the_dispatcher_which_delivers_at_once(manager, receiver):
    create_webhook(manager, receiver.url)
    with running_dispatcher(interval=60):
        emit_committed(manager.account, "task_1")
        assert arrived(receiver, 1, within=10), "the dispatcher never delivered"
        # Its start-up sweep is behind it and the next is a minute away: only the wake-up delivers now.
        second = emit_committed(manager.account, "task_2")
        assert arrived(receiver, 2, within=3), "the commit did not wake the dispatcher"
        assert eventually(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 2, within=3)
    assert receiver.requests[1].headers["webhook-id"] == second.id


def test_a_replay_wakes_the_dispatcher(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    with running_dispatcher(interval=60):
        first = emit_committed(manager.account, "task_1")
        assert arrived(receiver, 1, within=10), "the dispatcher never delivered"
        response = manager.client.post(f"/webhooks/{webhook['id']}/replay",
                                       {"since": (timezone.now() - timedelta(hours=1)).isoformat()})
        assert response.status_code == 200 and response.json()["replayed"] == 1
        assert arrived(receiver, 2, within=3), "the replay did not wake the dispatcher"
    assert [r.headers["webhook-id"] for r in receiver.requests] == [first.id, first.id]


def test_a_slow_receiver_does_not_hold_back_another_endpoints_delivery(manager, receiver):
    slow = WebhookReceiver()
    try:
        slow.answer(Answer(pause=5))
        create_webhook(manager, slow.url)
        create_webhook(manager, receiver.url)
        with running_dispatcher(threads=2):
            started = time.monotonic()
            emit_committed(manager.account)
            assert arrived(receiver, 1, within=10) and arrived(slow, 1, within=10)
            assert time.monotonic() - started < 4, "the fast endpoint waited for the slow one"
            # The fast one is recorded while the slow one is still being answered.
            assert eventually(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 1, within=1)
    finally:
        slow.close()


def test_a_dispatcher_killed_mid_delivery_loses_nothing(manager, receiver):
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(pause=60))  # the first attempt hangs until the dispatcher is gone
    # A 1 s timeout makes the dispatcher's claim lease 13 s.
    with running_dispatcher(TSKR_WEBHOOK_TIMEOUT_SECONDS="1") as dispatcher:
        event = emit_committed(manager.account)
        assert receiver.arrived.wait(20), "the dispatcher never delivered"
        dispatcher.send_signal(signal.SIGKILL)
        dispatcher.wait()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.claimed_until > timezone.now()
    assert deliver_due()["delivered"] == 0  # the dead dispatcher's claim still holds

    time.sleep(max(0.0, (delivery.claimed_until - timezone.now()).total_seconds()) + 0.2)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]
