"""The per-chat processing lock under real concurrency (threads, PostgreSQL, Redis)."""
import time

import pytest
from django.conf import settings

from tasks_app.models import Task
from tskr.infra.locks import is_locked, try_acquire
from tskr.testing import run_together

from .fake_anthropic import text
from .test_process import assistant_messages, post, process

LOCK = "chat-process:{}"


def process_concurrently(caller, chat, n: int) -> list:
    clients = [caller.client for _ in range(n)]
    responses = run_together(*(lambda c=c: c.post(f"/chats/{chat.id}/process") for c in clients))
    return [(response.status_code, response.json()) for response in responses]


@pytest.mark.django_db(transaction=True)
def test_concurrent_process_calls_let_exactly_one_proceed(alice, chat, anthropic_api):
    anthropic_api.default.delay = 1.0  # the engine is busy long enough for every call to collide
    post(alice, chat, "Hi Tess")
    responses = process_concurrently(alice, chat, 5)
    statuses = sorted(status for status, _ in responses)
    assert statuses == [200, 409, 409, 409, 409], responses
    assert all(body == {"error": "Chat is already being processed", "error_code": "chat_processing"}
               for status, body in responses if status == 409)
    assert len(anthropic_api.requests) == 1 and len(assistant_messages(chat)) == 1
    assert not is_locked(LOCK.format(chat.id))
    anthropic_api.default.delay = 0
    assert process(alice, chat)["message"] is not None  # free for the next caller


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_free_after_an_engine_failure_under_concurrency(alice, chat, anthropic_api, settings):
    settings.TSKR_AI_MAX_RETRIES = 0
    anthropic_api.answer(status=500, delay=1.0)
    post(alice, chat, "Hi Tess")
    responses = process_concurrently(alice, chat, 4)
    assert sorted(status for status, _ in responses) == [409, 409, 409, 503], responses
    assert not is_locked(LOCK.format(chat.id)) and assistant_messages(chat) == []
    assert process(alice, chat)["message"] is not None


@pytest.mark.django_db(transaction=True)
def test_a_caller_that_lost_its_lock_writes_nothing_and_leaves_the_new_owner_alone(alice, chat, anthropic_api):
    """The lock expires mid-run and another process takes it: our run must neither write nor release."""
    stolen = {}

    def expire_and_take_over(body):
        from tskr.infra.redis_client import get_redis

        get_redis().delete(f"tskr:lock:{LOCK.format(chat.id)}")  # as if the TTL ran out
        stolen["lock"] = try_acquire(LOCK.format(chat.id), 30_000)

    if not settings.REDIS_URL:
        pytest.skip("simulates expiry in Redis")
    anthropic_api.on_request = expire_and_take_over
    anthropic_api.answer(text("On it"))
    post(alice, chat, "Tess, remind me tomorrow at 9am to call Bob")
    response = alice.client.post(f"/chats/{chat.id}/process")
    assert response.status_code == 409 and response.json()["error_code"] == "lock_expired"
    assert not Task.objects.exists() and assistant_messages(chat) == []
    assert is_locked(LOCK.format(chat.id)) and stolen["lock"].release()  # still the new owner's


@pytest.mark.smoke
def test_release_and_extend_only_work_for_the_owner(db):
    first = try_acquire("unit", 100)
    assert first is not None and try_acquire("unit", 100) is None
    time.sleep(0.15)  # first's TTL runs out
    second = try_acquire("unit", 30_000)
    assert second is not None
    assert first.release() is False and first.extend() is False
    assert is_locked("unit") and second.extend() is True and second.release() is True
    assert not is_locked("unit")

