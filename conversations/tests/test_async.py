"""`{"async": true}`: the same work queued for Celery, answered 202 with a job to poll."""
import time

import pytest
from django.conf import settings

from conversations import services
from conversations.models import ChatJob
from tasks_app.models import Task
from tskr.infra.locks import try_acquire
from tskr.testing import running_celery_worker

from .test_process import assistant_messages, post


def test_async_process_answers_202_with_a_job_that_a_run_completes(alice, chat):
    post(alice, chat, "Tess, remind me on Friday at 9am to pay rent", platform="sms")
    response = alice.client.post(f"/chats/{chat.id}/process", {"async": True})
    assert response.status_code == 202, response.json()
    job = response.json()["job"]
    assert job["chatId"] == chat.id and job["status"] in ("queued", "succeeded")
    if job["status"] == "queued":  # a broker is configured: run what the worker would run
        assert services.chat_job_run(job_id=job["id"], account_id=alice.account.id) is None
    polled = alice.client.get(f"/chats/{chat.id}/jobs/{job['id']}").json()["job"]
    task = Task.objects.get()
    assert polled["status"] == "succeeded" and polled["error"] is None and polled["finishedAt"]
    reply, = assistant_messages(chat)
    assert polled["result"] == {"ok": True, "taskIds": [task.id], "message": {
        "id": reply.id, "to": ["alice@acme.test"], "content": reply.content, "platform": "sms"},
        "usage": {"inputTokens": 0, "outputTokens": 0, "cacheReadTokens": 0, "cacheWriteTokens": 0}}


def test_a_job_runs_once_even_if_delivered_twice(alice, chat):
    post(alice, chat, "Hi Tess")
    job = ChatJob.objects.create(account=alice.account, chat=chat)
    assert services.chat_job_run(job_id=job.id, account_id=alice.account.id) is None
    assert services.chat_job_run(job_id=job.id, account_id=alice.account.id) is None
    assert len(assistant_messages(chat)) == 1 and ChatJob.objects.get(id=job.id).attempts == 1


def test_a_job_for_a_busy_chat_is_requeued_then_fails_after_its_attempts(alice, chat):
    post(alice, chat, "Hi Tess")
    held = try_acquire(f"chat-process:{chat.id}", 30_000)
    job = ChatJob.objects.create(account=alice.account, chat=chat)
    for _ in range(services.MAX_JOB_ATTEMPTS - 1):
        with pytest.raises(services.ChatJobDeferred):
            services.chat_job_run(job_id=job.id, account_id=alice.account.id)
        assert ChatJob.objects.get(id=job.id).status == "queued"
    assert services.chat_job_run(job_id=job.id, account_id=alice.account.id) is None
    failed = alice.client.get(f"/chats/{chat.id}/jobs/{job.id}").json()["job"]
    assert failed["status"] == "failed" and failed["error"]["error_code"] == "chat_processing"
    assert held.release()


def test_the_task_retries_a_deferred_job_by_autoretry_until_its_attempts_are_spent(alice, chat, monkeypatch):
    from conversations.tasks import process_chat_job
    from tskr.celery import app

    # Run here, each retry at once (a retry is raised, not run, while eager errors propagate).
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    post(alice, chat, "Hi Tess")
    held = try_acquire(f"chat-process:{chat.id}", 30_000)
    job = ChatJob.objects.create(account=alice.account, chat=chat)
    process_chat_job.apply(args=(job.id, alice.account.id))
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == services.MAX_JOB_ATTEMPTS
    assert process_chat_job.autoretry_for == (services.ChatJobDeferred,) and process_chat_job.retry_jitter
    assert held.release()


def test_a_job_of_another_account_is_not_run(alice, charlie, chat):
    post(alice, chat, "Hi Tess")
    job = ChatJob.objects.create(account=alice.account, chat=chat)
    assert services.chat_job_run(job_id=job.id, account_id=charlie.account.id) is None
    assert ChatJob.objects.get(id=job.id).status == "queued" and assistant_messages(chat) == []


def test_async_process_is_409_at_once_when_the_chat_is_busy(alice, chat):
    post(alice, chat, "Hi Tess")
    held = try_acquire(f"chat-process:{chat.id}", 30_000)
    response = alice.client.post(f"/chats/{chat.id}/process", {"async": True})
    assert response.status_code == 409 and response.json()["error_code"] == "chat_processing"
    assert not ChatJob.objects.exists() and held.release()


def test_jobs_are_404_for_unknown_ids_and_other_accounts(alice, charlie, chat):
    job = ChatJob.objects.create(account=alice.account, chat=chat)
    response = alice.client.get(f"/chats/{chat.id}/jobs/job_missing")
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"
    response = charlie.client.get(f"/chats/{chat.id}/jobs/{job.id}")
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"


def test_process_body_must_be_valid(alice, chat):
    response = alice.client.post(f"/chats/{chat.id}/process", {"async": "maybe"})
    assert response.status_code == 400 and "async" in response.json()["details"]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_the_queued_job_and_stores_the_reply(alice, chat):
    if not settings.REDIS_URL:
        pytest.skip("a real worker needs Redis")
    post(alice, chat, "Hi Tess, what can you do?")
    with running_celery_worker():
        job = alice.client.post(f"/chats/{chat.id}/process", {"async": True}).json()["job"]
        assert job["status"] == "queued"
        deadline = time.monotonic() + 30
        while (polled := alice.client.get(f"/chats/{chat.id}/jobs/{job['id']}").json()["job"])["status"] in (
                "queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
    assert polled["status"] == "succeeded", polled
    reply, = assistant_messages(chat)
    assert polled["result"]["message"] == {"id": reply.id, "to": ["alice@acme.test"], "content": reply.content,
                                           "platform": "chat"}
    assert alice.client.get(f"/chats/{chat.id}").json()["chat"]["messageCount"] == 2


def test_the_beat_sweep_fails_jobs_whose_worker_died_and_leaves_live_ones(alice, chat):
    from datetime import timedelta

    from django.utils import timezone

    from conversations.tasks import fail_stale_chat_jobs
    from tskr.celery import app

    lost = ChatJob.objects.create(account=alice.account, chat=chat, status=ChatJob.Status.RUNNING)
    live = ChatJob.objects.create(account=alice.account, chat=chat, status=ChatJob.Status.RUNNING)
    waiting = ChatJob.objects.create(account=alice.account, chat=chat)
    ChatJob.objects.filter(id__in=[lost.id, waiting.id]).update(
        updated_at=timezone.now() - timedelta(seconds=services.STALE_JOB_SECONDS + 1))
    assert fail_stale_chat_jobs() == 1
    polled = alice.client.get(f"/chats/{chat.id}/jobs/{lost.id}").json()["job"]
    assert polled["status"] == "failed" and polled["error"]["error_code"] == "job_lost" and polled["finishedAt"]
    assert ChatJob.objects.get(id=live.id).status == "running"
    assert ChatJob.objects.get(id=waiting.id).status == "queued"  # a backlog is not a dead worker
    entry = settings.CELERY_BEAT_SCHEDULE["conversations-fail-stale-chat-jobs"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] <= services.STALE_JOB_SECONDS
