"""`POST /tasks/:id/process` with the local engine and with the Anthropic engine (real SDK, local fake API)."""
import pytest
from django.db import connection

from conversations.models import Chat
from conversations.tests.fake_anthropic import text, tool_use
from directory.models import UserIdentifier
from directory.services import memory_create, preferences_set
from tasks_app.models import Activity, Task
from tasks_app.services import task_create, task_lock_name
from tskr.infra.locks import is_locked, try_acquire
from tskr.testing import ApiClient


def make_task(alice, assistant=None, **fields):
    fields.setdefault("title", "Schedule a sync with Bob")
    fields.setdefault("type", "scheduling")
    fields.setdefault("owner", alice.user)
    return task_create(account=alice.account, assistant=assistant, actor_user=alice.user, **fields)


def history(task):
    return list(Activity.objects.filter(task=task).order_by("created_at", "id"))


# -- local engine --------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_process_stores_message_and_reply_and_asks_for_clarification(alice, assistant, local_engine):
    task = make_task(alice, assistant)
    response = alice.client.post(f"/tasks/{task.id}/process", {
        "message": "Please set it up", "files": [{"url": "https://x.test/a.png", "name": "a.png",
                                                 "mimeType": "image/png"}]})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["task"]["id"] == task.id
    assert "What day and time would suit you for this?" in body["task"]["message"]
    created, message, reply, status = history(task)
    assert (message.type, message.content, message.actor_user) == ("message", "Please set it up", alice.user)
    assert message.files == [{"url": "https://x.test/a.png", "name": "a.png", "mimeType": "image/png"}]
    assert (reply.type, reply.content, reply.actor_assistant) == ("message", body["task"]["message"], assistant)
    assert reply.metadata == {"role": "assistant", "engine": "local"}
    assert (status.type, status.actor_assistant, status.metadata["to"]) == (
        "status_change", assistant, "needs_clarification")
    assert Task.objects.get(id=task.id).status == "needs_clarification"
    assert not is_locked(task_lock_name(task.id))


def test_process_lets_the_engine_complete_the_task(alice, assistant, local_engine):
    task = make_task(alice, assistant, type="task", status="in_progress")
    response = alice.client.post(f"/tasks/{task.id}/process", {"message": "All done, thanks"})
    assert response.status_code == 200
    assert Task.objects.get(id=task.id).status == "completed"
    detail = alice.client.get(f"/tasks/{task.id}").json()["task"]
    assert [a["type"] for a in detail["activities"]] == ["status_change", "message", "message", "status_change"]
    assert detail["activities"][2]["actor"]["type"] == "assistant"
    assert detail["activities"][2]["actor"]["name"] == "Tess"


def test_process_without_message_only_stores_the_reply(alice, local_engine):
    task = make_task(alice, type="task")
    assert alice.client.post(f"/tasks/{task.id}/process", {}).status_code == 200
    reply = history(task)[1]
    assert (reply.type, reply.actor_user, reply.actor_assistant) == ("message", None, None)
    assert alice.client.get(f"/tasks/{task.id}").json()["task"]["activities"][1]["actor"]["type"] == "assistant"
    assert Task.objects.get(id=task.id).status == "in_progress"


def test_process_keeps_the_status_when_the_engine_proposes_an_illegal_transition(alice, local_engine):
    task = make_task(alice, status="completed")  # scheduling, no time known: the engine asks (needs_clarification)
    response = alice.client.post(f"/tasks/{task.id}/process", {"message": "One more thing"})
    assert response.status_code == 200
    assert Task.objects.get(id=task.id).status == "completed"
    reply = history(task)[-1]
    assert reply.metadata["proposedStatus"] == "needs_clarification"


def test_process_refuses_non_image_files(alice, local_engine):
    task = make_task(alice)
    response = alice.client.post(f"/tasks/{task.id}/process", {
        "message": "see attached", "files": [{"url": "https://x.test/a.pdf", "mimeType": "application/pdf"}]})
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert "files.0.mimeType" in response.json()["details"]
    assert len(history(task)) == 1


def test_process_returns_409_when_task_is_locked(alice, local_engine):
    task = make_task(alice)
    lock = try_acquire(task_lock_name(task.id), 30_000)
    response = alice.client.post(f"/tasks/{task.id}/process", {"message": "hi"})
    assert response.status_code == 409
    assert response.json() == {"error": "Task is already being processed", "error_code": "task_processing"}
    assert len(history(task)) == 1
    delete = alice.client.delete(f"/tasks/{task.id}")
    assert delete.status_code == 409 and delete.json()["error_code"] == "task_processing"
    assert Task.objects.filter(id=task.id).exists()
    lock.release()
    assert alice.client.post(f"/tasks/{task.id}/process", {"message": "hi"}).status_code == 200


# -- Anthropic engine ---------------------------------------------------------------------------------------


def test_process_with_anthropic_sends_the_task_context_and_applies_the_status(alice, bob, assistant, anthropic_api):
    task = make_task(alice, assistant, description="30 minutes, next week")
    bob.client.post(f"/tasks/{task.id}/activities", {"content": "Bob prefers mornings"})
    anthropic_api.answer(text("Booked for Tuesday 10:00."), tool_use("set_task_status", {"status": "completed"}))
    response = alice.client.post(f"/tasks/{task.id}/process", {"message": "Tuesday works"})
    assert response.status_code == 200
    assert response.json()["task"] == {"id": task.id, "message": "Booked for Tuesday 10:00."}
    assert Task.objects.get(id=task.id).status == "completed"
    assert history(task)[-2].metadata == {"role": "assistant", "engine": "anthropic"}
    request = anthropic_api.requests[0]["body"]
    system = " ".join(block["text"] for block in request["system"])
    assert "Schedule a sync with Bob" in system and "30 minutes, next week" in system
    assert "alice@acme.test" in system and "Your name is Tess." in system
    conversation = " ".join(turn["content"] for turn in request["messages"])
    assert "Bob prefers mornings" in conversation and conversation.endswith("Tuesday works")
    assert request["tools"][0]["name"] == "set_task_status"


def test_process_writes_nothing_when_the_ai_is_unavailable(alice, assistant, anthropic_api):
    task = make_task(alice, assistant)
    anthropic_api.answer(status=529, error_type="overloaded_error")
    anthropic_api.answer(status=529, error_type="overloaded_error")
    response = alice.client.post(f"/tasks/{task.id}/process", {"message": "Tuesday works"})
    assert response.status_code == 503
    assert response.json()["error_code"] == "ai_unavailable"
    assert len(anthropic_api.requests) == 2
    assert len(history(task)) == 1
    assert Task.objects.get(id=task.id).status == "pending"
    assert not is_locked(task_lock_name(task.id))


@pytest.mark.django_db(transaction=True)
def test_a_second_process_call_during_a_run_gets_409(alice, assistant, anthropic_api):
    """The second call is made from inside the fake API while the first run waits for its answer."""
    task = make_task(alice, assistant)
    token = alice.token()
    seen = []

    def call_again(body):
        if not seen:
            try:
                seen.append(ApiClient(token).post(f"/tasks/{task.id}/process", {"message": "again"}))
            finally:
                connection.close()

    anthropic_api.on_request = call_again
    anthropic_api.answer(text("On it."))
    first = alice.client.post(f"/tasks/{task.id}/process", {"message": "first"})
    assert first.status_code == 200
    assert seen[0].status_code == 409 and seen[0].json()["error_code"] == "task_processing"
    assert [a.content for a in history(task) if a.type == "message"] == ["first", "On it."]


def test_process_answers_as_the_source_chats_assistant_when_the_task_has_none(alice, assistant, local_engine):
    chat = Chat.objects.create(account=alice.account, assistant=assistant, title="Inbox")
    task = make_task(alice, type="task", source_chat=chat)
    assert alice.client.post(f"/tasks/{task.id}/process", {"message": "go"}).status_code == 200
    reply = history(task)[-2]
    assert reply.actor_assistant == assistant and reply.content.endswith("Best,\nTess")


def test_process_can_reopen_a_completed_task(alice, local_engine):
    task = make_task(alice, type="task", status="completed")
    assert alice.client.post(f"/tasks/{task.id}/process", {"message": "One more change please"}).status_code == 200
    assert Task.objects.get(id=task.id).status == "in_progress"


def test_process_gives_the_engine_the_owners_preferences_and_memories(alice, bob, assistant, anthropic_api):
    identifier = UserIdentifier.objects.get(account=alice.account, user=bob.user)
    preferences_set(identifier=identifier, skill="travel", values={"seatPreference": "aisle"})
    memory_create(account=alice.account, user=bob.user, title="Diet", content="Vegetarian")
    task = make_task(alice, assistant, type="travel", owner=bob.user)
    assert bob.client.post(f"/tasks/{task.id}/process", {"message": "Book it"}).status_code == 200
    # a teammate processing Bob's task gets his preferences (account-wide) but not his private memories
    assert alice.client.post(f"/tasks/{task.id}/process", {"message": "Book it"}).status_code == 200
    by_owner, by_teammate = (" ".join(block["text"] for block in request["body"]["system"])
                             for request in anthropic_api.requests)
    assert "bob@acme.test" in by_owner and '"seatPreference": "aisle"' in by_owner
    assert "Diet: Vegetarian" in by_owner
    assert '"seatPreference": "aisle"' in by_teammate and "Vegetarian" not in by_teammate
