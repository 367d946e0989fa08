"""Each inbound message is processed once: repeated and concurrent process calls replay the stored outcome,
asynchronous calls share one job, and jobs whose Celery message was lost are sent again."""
import contextlib
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conversations import services
from conversations.models import ChatJob, Message
from conversations.tasks import resend_queued_chat_jobs
from tasks_app.models import Task
from tskr.celery import app
from tskr.infra.locks import is_locked
from tskr.testing import run_together, running_celery_worker

from .factories import ChatFactory
from .fake_anthropic import text
from .test_process import assistant_messages, post, process


def enqueue(caller, chat) -> dict:
    response = caller.client.post(f"/chats/{chat.id}/process", {"async": True})
    assert response.status_code == 202, response.json()
    return response.json()["job"]


def run_queued(job: dict, account_id: str) -> None:
    """With a broker configured the job waits for a worker: run what the worker would run."""
    if job["status"] == "queued":
        assert services.chat_job_run(job_id=job["id"], account_id=account_id) is None


def test_processing_the_same_message_again_replays_the_stored_outcome_and_creates_nothing(alice, chat):
    post(alice, chat, "Tess, can you book me a flight to Lisbon?", platform="sms")
    first = process(alice, chat)
    again = process(alice, chat)
    assert first["message"] is not None and len(first["taskIds"]) == 1 and "replayed" not in first
    assert again == {**first, "replayed": True}
    assert Task.objects.count() == 1 and len(assistant_messages(chat)) == 1
    assert alice.client.get(f"/chats/{chat.id}").json()["chat"]["messageCount"] == 2
    assert not is_locked(f"chat-process:{chat.id}")


@pytest.mark.parametrize("content, metadata, shape", [
    ("Bob, lunch at noon?", {"from": "alice@acme.test", "to": ["bob@acme.test"], "cc": ["tess@acme.test"]},
     "ignored"),
    ("Tess, schedule a meeting with Dan tomorrow at 3pm", {"from": "alice@acme.test", "to": ["tess@acme.test"]},
     "suppressed"),
])
def test_ignored_and_suppressed_outcomes_are_replayed_too(alice, chat, content, metadata, shape):
    post(alice, chat, content, platform="email", **metadata)
    first = process(alice, chat)
    assert first[shape] is True and first["message"] is None
    assert process(alice, chat) == {**first, "replayed": True}
    assert Task.objects.count() == len(first["taskIds"]) and assistant_messages(chat) == []


def test_a_new_message_is_answered_anew_and_a_replay_is_that_of_the_latest(alice, chat):
    post(alice, chat, "Hi Tess")
    first = process(alice, chat)
    post(alice, chat, "Remind me on Friday at 9am to pay rent")
    second = process(alice, chat)
    assert "replayed" not in second and second["message"]["id"] != first["message"]["id"]
    assert process(alice, chat) == {**second, "replayed": True}
    assert len(assistant_messages(chat)) == 2 and Task.objects.count() == 1


def test_the_outcome_is_stored_with_the_inbound_message(alice, chat):
    inbound = post(alice, chat, "Hi Tess")
    body = process(alice, chat)
    message = Message.objects.get(id=inbound["id"])
    assert message.processed_at is not None
    assert message.process_outcome == {"message": body["message"], "task_ids": body["taskIds"], "ignored": False,
                                       "suppressed": False, "replayed": False, "usage": message.process_outcome["usage"],
                                       "approval_id": None}


def test_a_failed_processing_stores_nothing_and_may_be_retried(alice, chat, anthropic_api, settings):
    settings.TSKR_AI_MAX_RETRIES = 0
    anthropic_api.answer(status=500)
    inbound = post(alice, chat, "Hi Tess")
    assert process(alice, chat, status=503)["error_code"] == "ai_unavailable"
    assert Message.objects.get(id=inbound["id"]).processed_at is None
    anthropic_api.answer(text("Hello Alice"))
    assert "replayed" not in process(alice, chat) and len(assistant_messages(chat)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_finding_the_message_answered_meanwhile_writes_nothing_and_replays_that_answer(alice, chat,
                                                                                             anthropic_api):
    """Behind the lock, the database guards the write: a run whose message was claimed by another run
    (its lock having expired in between) replays that run's outcome instead of answering twice."""
    inbound = post(alice, chat, "Tess, remind me tomorrow at 9am to call Bob")
    reply = {"id": "msg_other", "to": ["alice@acme.test"], "content": "Done", "platform": "chat"}
    stored = {"message": reply, "task_ids": [], "ignored": False, "suppressed": False, "replayed": False, "usage": None}

    def other_run_commits(body):  # in the fake's server thread, on its own connection
        Message.objects.filter(id=inbound["id"]).update(processed_at=timezone.now(), process_outcome=stored)
        connection.close()

    anthropic_api.on_request = other_run_commits
    anthropic_api.answer(text("On it"))
    assert process(alice, chat) == {"ok": True, "message": reply, "taskIds": [], "replayed": True}
    assert not Task.objects.exists() and assistant_messages(chat) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_after_processing_all_replay(alice, chat):
    post(alice, chat, "Remind me on Friday at 9am to pay rent")
    first = process(alice, chat)
    responses = run_together(*(lambda: alice.client.post(f"/chats/{chat.id}/process") for _ in range(5)))
    assert all(response.status_code == 200 for response in responses), [r.json() for r in responses]
    assert all(response.json() == {**first, "replayed": True} for response in responses)
    assert Task.objects.count() == 1 and len(assistant_messages(chat)) == 1


# -- asynchronous calls ---------------------------------------------------------------------------
def test_repeated_async_calls_return_the_same_job_and_answer_once(alice, chat):
    post(alice, chat, "Tess, remind me on Friday at 9am to pay rent", platform="sms")
    job = enqueue(alice, chat)
    assert enqueue(alice, chat)["id"] == job["id"]
    run_queued(job, alice.account.id)
    assert enqueue(alice, chat)["id"] == job["id"]  # succeeded: still the same job
    polled = alice.client.get(f"/chats/{chat.id}/jobs/{job['id']}").json()["job"]
    assert polled["status"] == "succeeded" and "replayed" not in polled["result"]
    assert ChatJob.objects.count() == 1 and Task.objects.count() == 1 and len(assistant_messages(chat)) == 1
    sync_body = {key: value for key, value in polled["result"].items() if key != "usage"}
    assert process(alice, chat) == {**sync_body, "replayed": True}


def test_an_async_call_for_a_message_answered_synchronously_gets_a_succeeded_job_with_the_replay(alice, chat):
    post(alice, chat, "Hi Tess")
    body = process(alice, chat)
    job = enqueue(alice, chat)
    assert job["status"] == "succeeded" and job["result"] == {**body, "replayed": True, "usage": None} and job["finishedAt"]
    assert enqueue(alice, chat)["id"] == job["id"]
    assert ChatJob.objects.count() == 1 and len(assistant_messages(chat)) == 1


def test_after_a_failed_job_an_async_call_queues_a_new_one(alice, chat):
    inbound = post(alice, chat, "Hi Tess")
    failed = ChatJob.objects.create(account=alice.account, chat=chat, message_id=inbound["id"],
                                    status=ChatJob.Status.FAILED,
                                    error={"error": "AI down", "error_code": "ai_unavailable"})
    job = enqueue(alice, chat)
    assert job["id"] != failed.id
    run_queued(job, alice.account.id)
    assert alice.client.get(f"/chats/{chat.id}/jobs/{job['id']}").json()["job"]["status"] == "succeeded"
    assert len(assistant_messages(chat)) == 1


def test_a_new_message_gets_a_new_job(alice, chat):
    post(alice, chat, "Hi Tess")
    first = enqueue(alice, chat)
    run_queued(first, alice.account.id)
    post(alice, chat, "And another thing")
    second = enqueue(alice, chat)
    assert second["id"] != first["id"]
    run_queued(second, alice.account.id)
    assert len(assistant_messages(chat)) == 2


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_async_calls_queue_one_job_and_produce_one_reply(alice, chat):
    post(alice, chat, "Tess, remind me on Friday at 9am to pay rent", platform="sms")
    responses = run_together(*(lambda: alice.client.post(f"/chats/{chat.id}/process", {"async": True})
                               for _ in range(10)))
    assert all(response.status_code == 202 for response in responses), [r.json() for r in responses]
    job_ids = {response.json()["job"]["id"] for response in responses}
    assert len(job_ids) == 1 and ChatJob.objects.count() == 1
    job = ChatJob.objects.get()
    run_queued({"id": job.id, "status": job.status}, alice.account.id)
    assert ChatJob.objects.get().status == "succeeded"
    assert len(assistant_messages(chat)) == 1 and Task.objects.count() == 1


# -- jobs whose Celery message was lost -----------------------------------------------------------
def _age(job: ChatJob, seconds: float) -> None:
    ChatJob.objects.filter(id=job.id).update(updated_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_sweep_sends_again_jobs_left_queued_and_they_still_run_once(alice, chat):
    inbound = post(alice, chat, "Hi Tess")
    # queued, but its Celery message never reached a worker (e.g. Redis restarted without persistence)
    lost = ChatJob.objects.create(account=alice.account, chat=chat, message_id=inbound["id"])
    _age(lost, services.QUEUED_JOB_RESEND_SECONDS + 1)
    other = ChatFactory(assistant=chat.assistant)
    recent = ChatJob.objects.create(account=alice.account, chat=other)  # a normal wait: left alone
    _age(recent, services.QUEUED_JOB_RESEND_SECONDS - 30)
    with running_celery_worker() if settings.REDIS_URL else contextlib.nullcontext():
        assert resend_queued_chat_jobs() == 1
        deadline = time.monotonic() + 30
        while ChatJob.objects.get(id=lost.id).status != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.2)
    polled = alice.client.get(f"/chats/{chat.id}/jobs/{lost.id}").json()["job"]
    assert polled["status"] == "succeeded" and polled["result"]["message"]["id"] == assistant_messages(chat)[0].id
    assert ChatJob.objects.get(id=recent.id).status == "queued"
    # the original message, delivered late after all, finds the job claimed and does nothing
    assert services.chat_job_run(job_id=lost.id, account_id=alice.account.id) is None
    assert len(assistant_messages(chat)) == 1 and ChatJob.objects.get(id=lost.id).attempts == 1
    assert resend_queued_chat_jobs() == 0


def test_the_resend_sweep_leaves_running_jobs_alone_and_runs_every_minute(alice, chat):
    running = ChatJob.objects.create(account=alice.account, chat=chat, status=ChatJob.Status.RUNNING)
    _age(running, services.QUEUED_JOB_RESEND_SECONDS + 1)
    assert resend_queued_chat_jobs() == 0 and ChatJob.objects.get(id=running.id).status == "running"
    entry = settings.CELERY_BEAT_SCHEDULE["conversations-resend-queued-chat-jobs"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] < services.QUEUED_JOB_RESEND_SECONDS
