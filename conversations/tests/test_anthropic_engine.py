"""The Anthropic engine through the real SDK, against a local server speaking the Messages API."""
import time

import pytest

from admin_catalog.tests.factories import AgentFactory, SkillFactory
from conversations import services
from conversations.engine import (
    AssistantProfile,
    ChatContext,
    Deadline,
    EngineTimeout,
    TaskContext,
    TranscriptEntry,
    get_engine,
)
from conversations.models import Message
from tasks_app.models import Task
from tskr.infra.locks import is_locked

from .fake_anthropic import text, tool_use
from .test_process import assistant_messages, post, process


def test_one_call_carries_persona_cached_prefix_tools_and_transcript(alice, chat, anthropic_api):
    anthropic_api.answer(text("Will do.\n\nBest,\nTess"),
                         tool_use("create_task", {"title": "Book flight to Lisbon", "type": "travel",
                                                  "status": "pending", "description": "May 3, aisle seat"}))
    post(alice, chat, "Earlier context")
    post(alice, chat, "Tess, book me a flight to Lisbon on May 3", platform="sms")
    body = process(alice, chat)
    task = Task.objects.get()
    assert body["taskIds"] == [task.id] and body["message"]["content"] == "Will do.\n\nBest,\nTess"
    assert (task.title, task.type, task.status, task.owner) == ("Book flight to Lisbon", "travel", "pending",
                                                                alice.user)
    request, = anthropic_api.requests
    assert request["path"] == "/v1/messages" and request["headers"]["authorization"] == "Bearer sk-test-key"
    sent = request["body"]
    assert sent["model"] == "claude-test-model" and sent["max_tokens"] == 1024
    stable, volatile = sent["system"]
    assert stable["cache_control"] == {"type": "ephemeral"} and "cache_control" not in volatile
    for expected in ("Your name is Tess.", "tess@acme.test", "Personality: Calm and precise",
                     "professionalism 8, humor 2, emoji use 0", "Signature:\nBest,\nTess",
                     "no greeting line and no signature"):  # the platform's register
        assert expected in stable["text"]
    assert "alice@acme.test" not in stable["text"]  # the per-user part stays out of the cached prefix
    assert "Alice Archer <alice@acme.test>" in volatile["text"] and "Platform: sms." in volatile["text"]
    assert {tool["name"] for tool in sent["tools"]} == {"ignore_message", "create_task", "book_slot", "propose_times",
                                                        "ask_owner", "continue_task"}
    create_task = next(tool for tool in sent["tools"] if tool["name"] == "create_task")
    assert create_task["input_schema"]["properties"]["type"]["enum"] == ["followups", "reminders", "scheduling",
                                                                         "travel"]
    assert sent["messages"] == [{"role": "user", "content": (
        "[alice@acme.test] Earlier context\n\n[alice@acme.test] Tess, book me a flight to Lisbon on May 3")}]


def test_a_plain_text_answer_is_the_reply(alice, chat, anthropic_api):
    anthropic_api.answer(text("Happy to help!"))
    post(alice, chat, "Hello Tess")
    body = process(alice, chat)
    assert body["message"]["content"] == "Happy to help!" and body["taskIds"] == []
    assert assistant_messages(chat)[0].content == "Happy to help!"


def test_the_model_may_ignore_a_group_message_not_addressed_to_the_assistant(alice, chat, anthropic_api):
    anthropic_api.answer(tool_use("ignore_message", {"reason": "people talking among themselves"}))
    post(alice, chat, "Bob, see you at lunch", platform="email",
         **{"from": "alice@acme.test", "to": ["bob@acme.test"], "cc": ["tess@acme.test"]})
    assert process(alice, chat) == {"ok": True, "message": None, "taskIds": [], "ignored": True}
    assert "does not" not in anthropic_api.requests[0]["body"]["system"][1]["text"]
    assert "reached 2 people besides you." in anthropic_api.requests[0]["body"]["system"][1]["text"]


def test_a_direct_address_is_answered_even_if_the_model_asks_to_ignore_it(alice, chat, anthropic_api):
    anthropic_api.answer(text("Sure, Alice."), tool_use("ignore_message", {}))
    post(alice, chat, "Tess, see you at lunch", platform="email",
         **{"from": "alice@acme.test", "to": ["bob@acme.test"], "cc": ["tess@acme.test"]})
    body = process(alice, chat)
    assert "ignored" not in body and body["message"]["content"] == "Sure, Alice."
    assert "addresses you directly" in anthropic_api.requests[0]["body"]["system"][1]["text"]


def test_the_agent_sets_model_prompt_token_limit_and_enabled_skills(alice, chat, anthropic_api):
    agent = AgentFactory(model="claude-agent-model", system_prompt="You work for Acme.", temperature=0.1,
                         max_tokens=300, skills=[SkillFactory(name="reminders"), SkillFactory(name="scheduling")])
    chat.assistant.agent = agent
    chat.assistant.save()
    anthropic_api.answer(text("Clarify please: when?"),
                         tool_use("create_task", {"title": "Flight", "type": "travel", "status": "pending"}, 1),
                         tool_use("create_task", {"title": "Sync with Bob", "type": "scheduling",
                                                  "status": "needs_clarification", "question": "When?"}, 2))
    post(alice, chat, "Tess, fly me to Rome and set up a sync with Bob")
    body = process(alice, chat)
    sent = anthropic_api.requests[0]["body"]
    assert (sent["model"], sent["max_tokens"]) == ("claude-agent-model", 300)
    assert sent["system"][0]["text"].startswith("You work for Acme.")
    create_task = next(tool for tool in sent["tools"] if tool["name"] == "create_task")
    assert create_task["input_schema"]["properties"]["type"]["enum"] == ["reminders", "scheduling"]
    task = Task.objects.get()  # the travel call was dropped: travel is not enabled on this agent
    assert task.type == "scheduling" and task.status == "needs_clarification" and body["taskIds"] == [task.id]
    assert body["message"]["to"] == ["alice@acme.test"] and "When?" in task.description


def test_an_outage_answers_503_after_bounded_retries_and_writes_nothing(alice, chat, anthropic_api):
    anthropic_api.answer(status=529, error_type="overloaded_error")
    anthropic_api.answer(status=529, error_type="overloaded_error")
    post(alice, chat, "Tess, remind me tomorrow at 9am to call Bob")
    response = alice.client.post(f"/chats/{chat.id}/process")
    assert response.status_code == 503 and response.json()["error_code"] == "ai_unavailable"
    assert len(anthropic_api.requests) == 2  # one try and TSKR_AI_MAX_RETRIES=1 retry, not the SDK's defaults
    assert not Task.objects.exists() and assistant_messages(chat) == []
    assert not is_locked(f"chat-process:{chat.id}")


def test_a_transient_error_is_retried_once(alice, chat, anthropic_api):
    anthropic_api.answer(status=500)
    anthropic_api.answer(text("Back again."))
    post(alice, chat, "Hi Tess")
    assert process(alice, chat)["message"]["content"] == "Back again."
    assert len(anthropic_api.requests) == 2


def test_a_slow_model_answers_504_and_frees_the_lock(alice, chat, anthropic_api, settings):
    settings.TSKR_AI_TIMEOUT_SECONDS = 1
    settings.TSKR_AI_MAX_RETRIES = 0
    anthropic_api.answer(text("too late"), delay=2.5)
    post(alice, chat, "Hi Tess")
    response = alice.client.post(f"/chats/{chat.id}/process")
    assert response.status_code == 504 and response.json()["error_code"] == "ai_timeout"
    assert assistant_messages(chat) == [] and not is_locked(f"chat-process:{chat.id}")


def test_a_rejected_request_is_502_and_bad_credentials_503(alice, chat, anthropic_api):
    anthropic_api.answer(status=400, error_type="invalid_request_error")
    anthropic_api.answer(status=401, error_type="authentication_error")
    post(alice, chat, "Hi Tess")
    first = alice.client.post(f"/chats/{chat.id}/process")
    assert first.status_code == 502 and first.json()["error_code"] == "ai_bad_response"
    second = alice.client.post(f"/chats/{chat.id}/process")
    assert second.status_code == 503 and second.json()["error_code"] == "ai_unavailable"
    assert len(anthropic_api.requests) == 2  # neither is retried


def test_the_whole_run_fits_the_deadline_whatever_the_timeout_and_retries(anthropic_api, settings):
    """Timeout 20 s x 4 attempts would far outlive a 30 s lock; the deadline cuts the run short."""
    settings.TSKR_AI_TIMEOUT_SECONDS = 20
    settings.TSKR_AI_MAX_RETRIES = 3
    anthropic_api.default.delay = 5
    context = ChatContext(assistant=AssistantProfile(name="Tess", email="tess@acme.test"), agent=None, user=None,
                          platform="chat", transcript=(TranscriptEntry("user", "Hi"),),
                          latest=TranscriptEntry("user", "Hi"), audience=1, directly_addressed=True)
    started = time.monotonic()
    with pytest.raises(EngineTimeout):
        get_engine().process_chat(context, deadline=Deadline(1.5))
    assert time.monotonic() - started < 2.5
    assert services.ENGINE_BUDGET_SECONDS + 5 <= services.PROCESS_LOCK_TTL_MS / 1000


def test_process_task_returns_the_reply_and_the_status_the_model_set(anthropic_api):
    anthropic_api.answer(text("All booked."), tool_use("set_task_status", {"status": "completed"}))
    context = TaskContext(assistant=AssistantProfile(name="Tess", email="tess@acme.test"), agent=None, user=None,
                          title="Book flight", description="Lisbon, May 3", type="travel", status="pending",
                          history=(TranscriptEntry("assistant", "Task created"),), message="Any news?")
    result = get_engine().process_task(context, deadline=Deadline(5))
    assert (result.reply, result.new_status) == ("All booked.", "completed")
    sent = anthropic_api.requests[0]["body"]
    assert [tool["name"] for tool in sent["tools"]] == ["set_task_status"]
    assert "Task (travel, status pending): Book flight" in sent["system"][1]["text"]
    assert sent["messages"] == [{"role": "user", "content": "(conversation start)"},
                                {"role": "assistant", "content": "Task created"},
                                {"role": "user", "content": "Any news?"}]


def test_assistant_messages_in_the_transcript_become_assistant_turns(alice, chat, anthropic_api):
    post(alice, chat, "Hi Tess")
    Message.objects.create(account=chat.account, chat=chat, role="assistant", content="Hello Alice")
    post(alice, chat, "Are you there?")
    process(alice, chat)
    assert [turn["role"] for turn in anthropic_api.requests[0]["body"]["messages"]] == ["user", "assistant", "user"]


def test_the_users_memories_and_preferences_go_into_the_volatile_part_of_the_prompt(alice, chat, anthropic_api):
    from directory.models import UserIdentifier
    from directory.services import memory_create, preferences_set

    memory_create(account=alice.account, user=alice.user, title="Partner", content="Married to Sam", type="fact")
    identifier = UserIdentifier.objects.get(user=alice.user, type="email")
    preferences_set(identifier=identifier, skill="travel", values={"seatPreference": "aisle"})
    post(alice, chat, "Tess, any plans?")
    process(alice, chat)
    stable, volatile = anthropic_api.requests[0]["body"]["system"]
    assert "- Partner: Married to Sam" in volatile["text"] and '"seatPreference": "aisle"' in volatile["text"]
    assert "Married to Sam" not in stable["text"] and "seatPreference" not in stable["text"]


def test_a_model_that_keeps_writing_past_the_deadline_times_out_while_streaming(anthropic_api):
    # Each piece comes well within the read timeout, so only the deadline checked at every event stops it.
    anthropic_api.answer(text("word " * 100), chunk_chars=5, chunk_delay=0.1)
    context = ChatContext(assistant=AssistantProfile(name="Tess", email="tess@acme.test"), agent=None, user=None,
                          platform="chat", transcript=(TranscriptEntry("user", "Hi"),),
                          latest=TranscriptEntry("user", "Hi"), audience=1, directly_addressed=True)
    engine, pieces = get_engine(), []  # built first: its first import of the SDK is not the model's time
    started = time.monotonic()
    with pytest.raises(EngineTimeout):
        engine.stream_chat(context, deadline=Deadline(1.5), on_text=pieces.append)
    assert time.monotonic() - started < 2.5
    assert pieces and len(anthropic_api.requests) == 1  # text was passed on: no retry
