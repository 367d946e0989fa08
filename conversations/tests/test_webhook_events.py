"""Each chat event is emitted by its action, in the action's transaction, with the API's shapes."""
from datetime import timedelta

from django.utils import timezone

from accounts.models import Event
from conversations import services
from conversations.models import ChatJob
from tskr.infra.locks import try_acquire

from .test_process import post, process


def events(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]


def test_creating_a_chat_emits_chat_created(alice, assistant):
    response = alice.client.post("/chats", {"assistantId": assistant.id, "title": "Planning"})
    assert response.status_code == 201
    assert events("chat.created") == [response.json()["chat"]]


def test_every_message_emits_chat_message_created_the_replies_included(alice, chat):
    inbound = post(alice, chat, "Hi Tess, how are you today?")
    body = process(alice, chat)
    created = events("chat.message.created")
    assert [data["id"] for data in created] == [inbound["id"], body["message"]["id"]]
    assert created[0] == {**inbound, "chatId": chat.id}
    assert created[1]["role"] == "assistant" and created[1]["content"] == body["message"]["content"]
    reply = alice.client.get(f"/chats/{chat.id}/messages/{body['message']['id']}").json()["message"]
    assert created[1] == {**reply, "chatId": chat.id}


def test_processing_emits_chat_processed_with_the_body_the_chat_and_the_inbound_message(alice, chat):
    inbound = post(alice, chat, "Hi Tess, how are you today?")
    body = process(alice, chat)
    body.pop("ok")
    no_tokens = {"inputTokens": 0, "outputTokens": 0, "cacheReadTokens": 0, "cacheWriteTokens": 0}  # local engine
    assert events("chat.processed") == [{**body, "chatId": chat.id, "messageId": inbound["id"], "usage": no_tokens}]


def test_an_ignored_or_suppressed_processing_still_emits_chat_processed(alice, bob, chat):
    bob.user
    ignored = post(alice, chat, "Bob, lunch at noon?", platform="email", **{
        "from": "alice@acme.test", "to": ["bob@acme.test"], "cc": ["tess@acme.test"], "subject": "Lunch"})
    process(alice, chat)
    suppressed = post(alice, chat, "Tess, please schedule a meeting with Dan tomorrow at 3pm", platform="email", **{
        "from": "bob@acme.test", "to": ["tess@acme.test"], "cc": ["alice@acme.test"], "subject": "Meeting"})
    process(alice, chat)
    first, second = events("chat.processed")
    assert first == {"message": None, "taskIds": [], "ignored": True, "chatId": chat.id, "messageId": ignored["id"],
                     "usage": {"inputTokens": 0, "outputTokens": 0, "cacheReadTokens": 0, "cacheWriteTokens": 0}}
    assert second["suppressed"] is True and second["messageId"] == suppressed["id"] and len(second["taskIds"]) == 1
    assert [data["id"] for data in events("task.created")] == second["taskIds"]


def test_a_finished_job_emits_chat_job_succeeded(alice, chat):
    post(alice, chat, "Hi Tess")
    job = ChatJob.objects.create(account=alice.account, chat=chat)
    services.chat_job_run(job_id=job.id, account_id=alice.account.id)
    [data] = events("chat.job.succeeded")
    assert data == alice.client.get(f"/chats/{chat.id}/jobs/{job.id}").json()["job"]
    assert data["status"] == "succeeded"


def test_a_failed_job_emits_chat_job_failed(alice, chat):
    post(alice, chat, "Hi Tess")
    held = try_acquire(f"chat-process:{chat.id}", 30_000)
    job = ChatJob.objects.create(account=alice.account, chat=chat, attempts=services.MAX_JOB_ATTEMPTS - 1)
    services.chat_job_run(job_id=job.id, account_id=alice.account.id)
    [data] = events("chat.job.failed")
    assert data["id"] == job.id and data["error"]["error_code"] == "chat_processing"
    assert held.release()


def test_a_job_lost_with_its_worker_emits_chat_job_failed(alice, chat):
    job = ChatJob.objects.create(account=alice.account, chat=chat, status=ChatJob.Status.RUNNING)
    ChatJob.objects.filter(id=job.id).update(
        updated_at=timezone.now() - timedelta(seconds=services.STALE_JOB_SECONDS + 1))
    assert services.chat_jobs_fail_stale() == 1
    [data] = events("chat.job.failed")
    assert data["id"] == job.id and data["error"]["error_code"] == "job_lost"
