"""What processing a message costs in queries, with the model stubbed (bench scenario 5 times the reply,
scenario 13 the task-creating email): each statement is a round trip and the ORM's compiling, so the
request's time follows their count."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Event
from admin_catalog.models import Agent
from admin_catalog.services import agent_update
from admin_catalog.tests.factories import AgentFactory, SkillFactory
from conversations import selectors
from conversations.engine.context import MEMORY_CHARS, MEMORY_LIMIT
from conversations.models import Message
from tasks_app.models import Task

from .factories import ChatFactory, MessageFactory
from .fake_anthropic import Answer, text, tool_use
from .test_process import post, process


@pytest.fixture
def warm(alice, chat, anthropic_api):
    """A first message processed, as in a busy worker: the certificate and the delegated user are cached."""
    post(alice, chat, "Hi Tess")
    process(alice, chat)


def statements(captured) -> list[str]:
    """The captured statements' first words."""
    return [query["sql"].split(" ", 1)[0] for query in captured.captured_queries]


def test_a_reply_takes_11_queries(alice, chat, warm, django_assert_max_num_queries):
    post(alice, chat, "Tess, how is my week looking?")
    # 11 queries: the chat with its assistant and whether its latest inbound message was answered; under
    # the lock, that message with the transcript up to it; the sender's memories and preferences (one
    # statement); the chat's open tasks; BEGIN, the reply, the chat's counters, the stored outcome, the
    # reply's `chat.message.created` and `chat.processed` (one INSERT), COMMIT; the engine call's usage.
    # The agent's config is cached by the process.
    with django_assert_max_num_queries(11):
        body = process(alice, chat)
    assert body["message"] is not None and not body["taskIds"]
    assert Event.objects.filter(type="chat.message.created", data__id=body["message"]["id"]).count() == 1
    assert Event.objects.get(type="chat.processed", data__message__id=body["message"]["id"]).data["message"] == \
        body["message"]


def test_a_task_creating_email_takes_11_queries_and_no_savepoint(alice, chat, warm, anthropic_api,
                                                                 django_assert_max_num_queries,
                                                                 django_capture_on_commit_callbacks):
    anthropic_api.default = Answer([text("On it."), tool_use("create_task", {
        "title": "Meet Dana", "type": "scheduling", "status": "pending", "description": "30 minutes with Dana"})])
    post(alice, chat, "Tess, can you find 30 minutes for Dana and me?", platform="email",
         **{"from": "alice@acme.test", "to": ["tess@acme.test"], "cc": ["dana@partner.test"], "subject": "Intro"})
    # 11 queries: the reads of a reply (4), then BEGIN, the task, its activity, the stored outcome,
    # `task.created` and `chat.processed` (one INSERT), COMMIT; the engine call's usage. No savepoint: the
    # task is created in processing's transaction. (The agent's first step is queued for after the
    # commit, not run here.)
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(11) as captured:
        body = process(alice, chat)
    [task_id] = body["taskIds"]
    assert body["suppressed"] is True and Task.objects.filter(id=task_id).count() == 1
    assert statements(captured).count("SAVEPOINT") == 1  # processing's transaction, within the test's
    assert Event.objects.get(type="task.created", data__id=task_id).data["title"] == "Meet Dana"
    assert Event.objects.get(type="chat.processed", data__taskIds=[task_id]).data["suppressed"] is True


def test_a_replay_reads_the_answered_message_without_the_lock(alice, chat, warm, django_assert_max_num_queries):
    first = process(alice, chat, status=200)
    # 2 queries: the chat (its latest inbound message answered), then that message's stored outcome
    with django_assert_max_num_queries(2):
        assert process(alice, chat) == {**first, "replayed": True}


def test_a_process_call_does_not_read_the_account_again(alice, chat, warm):
    post(alice, chat, "Tess, anything new?")
    with CaptureQueriesContext(connection) as captured:
        process(alice, chat)
    assert not [query for query in captured.captured_queries if 'FROM "accounts_account"' in query["sql"]]


def test_the_transcript_read_with_the_latest_message_is_the_one_read_apart(alice, chat, django_assert_num_queries):
    post(alice, chat, "First")
    MessageFactory(chat=chat, role=Message.Role.ASSISTANT, content="Reply")
    latest = Message.objects.get(id=post(alice, chat, "Second")["id"])
    MessageFactory(chat=chat, role=Message.Role.ASSISTANT, content="Later, after the message answered")
    MessageFactory(chat=ChatFactory(assistant=chat.assistant), content="Another chat's, later still")

    with django_assert_num_queries(1):
        found, transcript = selectors.message_latest_inbound_and_transcript(chat=chat)
        senders = [message.sender.email if message.sender else None for message in transcript]

    assert found == latest == selectors.message_latest_inbound(chat=chat)
    assert [message.content for message in transcript] == ["First", "Reply", "Second"]
    assert senders == ["alice@acme.test", None, "alice@acme.test"]
    assert transcript[-1].timestamp == latest.timestamp and transcript[-1].metadata == latest.metadata


def test_replies_sharing_the_latest_messages_time_past_the_transcript_limit_still_find_it(alice, chat):
    latest = Message.objects.get(id=post(alice, chat, "The one to answer")["id"])
    # more assistant messages at the very same instant than the transcript holds, ordered after it by id
    for n in range(selectors.TRANSCRIPT_LIMIT + 1):
        MessageFactory(chat=chat, role=Message.Role.ASSISTANT, id=f"msg_zz{n:03d}", timestamp=latest.timestamp)

    found, transcript = selectors.message_latest_inbound_and_transcript(chat=chat)

    assert found == latest
    assert len(transcript) == selectors.TRANSCRIPT_LIMIT and latest not in transcript


def test_the_engine_gets_the_newest_memories_and_the_primary_identifiers_preferences(alice, chat, anthropic_api):
    from directory.models import UserIdentifier
    from directory.services import memory_create, preferences_set

    for n in range(MEMORY_LIMIT + 2):
        memory_create(account=alice.account, user=alice.user, title=f"Note {n}", content="x" * 400, type="fact")
    primary = UserIdentifier.objects.get(user=alice.user, type="email")
    other = UserIdentifier.objects.create(account=alice.account, user=alice.user, type="slack", value="u0alice")
    preferences_set(identifier=other, skill="travel", values={"seatPreference": "window"})
    preferences_set(identifier=primary, skill="travel", values={"seatPreference": "aisle"})
    post(alice, chat, "Tess, any plans?")
    process(alice, chat)
    volatile = anthropic_api.requests[0]["body"]["system"][1]["text"]
    remembered = [line for line in volatile.splitlines() if line.startswith("- Note ")]
    assert remembered == [f"- {f'Note {n}: ' + 'x' * 400}"[:MEMORY_CHARS + 2] for n in range(MEMORY_LIMIT + 1, 1, -1)]
    assert '"seatPreference": "aisle"' in volatile and "window" not in volatile


def test_a_user_with_nothing_stored_gets_no_memories_and_no_preferences(alice, chat, anthropic_api):
    post(alice, chat, "Tess, any plans?")
    process(alice, chat)
    volatile = anthropic_api.requests[0]["body"]["system"][1]["text"]
    assert "remember" not in volatile and "preferences" not in volatile


def sent_prompt(anthropic_api) -> str:
    return anthropic_api.requests[-1]["body"]["system"][0]["text"]


def test_an_agent_edited_in_this_process_drives_the_next_processing_at_once(alice, chat, anthropic_api):
    agent = AgentFactory(system_prompt="You work for Acme.", skills=[SkillFactory(name="reminders")])
    chat.assistant.agent = agent
    chat.assistant.save()
    post(alice, chat, "Hi Tess")
    process(alice, chat)
    assert sent_prompt(anthropic_api).startswith("You work for Acme.")

    agent_update(agent=agent, actor="admin@tskr.test", system_prompt="You work for Globex.",
                 skills=[SkillFactory(name="travel")])
    post(alice, chat, "Hi again")
    process(alice, chat)
    assert sent_prompt(anthropic_api).startswith("You work for Globex.")
    create_task = next(tool for tool in anthropic_api.requests[-1]["body"]["tools"] if tool["name"] == "create_task")
    assert create_task["input_schema"]["properties"]["type"]["enum"] == ["travel"]


def test_an_agent_edited_by_another_process_is_read_again_after_the_cache_period(alice, chat, anthropic_api,
                                                                                  settings):
    agent = AgentFactory(system_prompt="You work for Acme.")
    chat.assistant.agent = agent
    chat.assistant.save()
    post(alice, chat, "Hi Tess")
    process(alice, chat)
    Agent.objects.filter(id=agent.id).update(system_prompt="You work for Globex.")  # no signal: another process
    post(alice, chat, "Hi again")
    process(alice, chat)
    assert sent_prompt(anthropic_api).startswith("You work for Acme.")  # within TSKR_CERTIFICATE_CACHE_SECONDS
    settings.TSKR_CERTIFICATE_CACHE_SECONDS = 0
    post(alice, chat, "And again")
    process(alice, chat)
    assert sent_prompt(anthropic_api).startswith("You work for Globex.")


def test_a_new_choice_of_agent_on_the_assistant_takes_effect_at_once(alice, chat, anthropic_api):
    post(alice, chat, "Hi Tess")
    process(alice, chat)
    chat.assistant.agent = AgentFactory(system_prompt="You work for Acme.")
    chat.assistant.save()
    post(alice, chat, "Hi again")
    process(alice, chat)
    assert sent_prompt(anthropic_api).startswith("You work for Acme.")
