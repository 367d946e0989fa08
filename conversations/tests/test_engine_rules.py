"""The offline engine's rules and the addressing helpers, as pure functions (no database)."""
import pytest

from conversations.addressing import handle, handles, subject_reply
from conversations.engine import (
    AssistantProfile,
    ChatContext,
    Deadline,
    TaskContext,
    TranscriptEntry,
    UserProfile,
)
from conversations.engine.local import LocalEngine, detect_skill, mentions_time

TESS = AssistantProfile(name="Tess", email="tess@acme.test", signature="Cheers,\nTess",
                        writing_style={"professionalism": 3, "humor": 8, "emojiUse": 9})


def chat_context(content, *, audience=1, direct=True, user=None, platform="chat"):
    latest = TranscriptEntry("user", content)
    return ChatContext(assistant=TESS, agent=None, user=user, platform=platform, transcript=(latest,), latest=latest,
                       audience=audience, directly_addressed=direct)


def task_context(*, type="scheduling", status="pending", title="Sync with Bob", description="", message=""):
    return TaskContext(assistant=TESS, agent=None, user=None, title=title, description=description, type=type,
                       status=status, message=message)


@pytest.mark.parametrize("text, skill", [
    ("Please schedule a call with Dan", "scheduling"), ("Can we meet Thursday?", "scheduling"),
    ("Remind me to schedule the review", "reminders"), ("Follow up with Acme about the invoice", "followups"),
    ("Find me a hotel in Paris", "travel"), ("What's the weather like?", None),
])
def test_skills_are_recognised_by_keywords(text, skill):
    assert detect_skill(text) == skill


@pytest.mark.parametrize("text, found", [
    ("tomorrow", True), ("at 3pm", True), ("on 2026-03-01", True), ("next week", True), ("on Friday", True),
    ("March 3", True), ("in 2 hours", True), ("at 14:30", True), ("soon", False), ("with Dan", False),
])
def test_dates_and_times_are_recognised(text, found):
    assert mentions_time(text) is found


def test_email_replies_follow_the_writing_style_and_signature():
    result = LocalEngine().process_chat(chat_context("How are you?", user=UserProfile(name="Alice Archer",
                                                                                       email="a@x.test"),
                                                     platform="email"),
                                        deadline=Deadline(1))
    assert result.reply.startswith("Hi Alice!") and "no coffee required" in result.reply
    assert "🙂" in result.reply and result.reply.endswith("Cheers,\nTess") and result.tasks == ()


def test_group_messages_are_ignored_unless_direct_or_calling_for_the_assistant():
    engine = LocalEngine()
    assert engine.process_chat(chat_context("lunch?", audience=3, direct=False), deadline=Deadline(1)).ignored
    assert not engine.process_chat(chat_context("lunch?", audience=3, direct=True), deadline=Deadline(1)).ignored
    assert not engine.process_chat(chat_context("can the bot book it?", audience=3, direct=False),
                                   deadline=Deadline(1)).ignored


def test_a_reminder_without_a_time_asks_for_one():
    result = LocalEngine().process_chat(chat_context("Tess, please remind me to call Dan"), deadline=Deadline(1))
    task, = result.tasks
    assert (task.type, task.status, task.title) == ("reminders", "needs_clarification",
                                                    "Reminder: Remind me to call Dan")
    assert "When should I remind you?" in result.reply and "When should I remind you?" in task.description


@pytest.mark.parametrize("text, skill", [
    ("Tess, please follow up with Dan", "followups"), ("Could you find us 30 minutes with Dan?", "scheduling"),
])
def test_scheduling_and_followups_without_a_time_start_on_the_owners_defaults(text, skill):
    task, = LocalEngine().process_chat(chat_context(text), deadline=Deadline(1)).tasks
    assert (task.type, task.status) == (skill, "pending")


def test_process_task_completes_asks_or_proceeds():
    engine = LocalEngine()
    done = engine.process_task(task_context(message="All done, thanks"), deadline=Deadline(1))
    assert done.new_status == "completed" and "completed" in done.reply
    ask = engine.process_task(task_context(), deadline=Deadline(1))
    assert ask.new_status == "needs_clarification" and "What day and time" in ask.reply
    still = engine.process_task(task_context(status="needs_clarification"), deadline=Deadline(1))
    assert still.new_status is None
    go = engine.process_task(task_context(status="needs_clarification", message="Monday at 10am"),
                             deadline=Deadline(1))
    assert go.new_status == "in_progress" and "working on" in go.reply


def test_addresses_are_normalised_and_subjects_get_re_once():
    assert handle(" Bob Baker <Bob@Acme.TEST> ") == "bob@acme.test"
    assert handles("a@x.test, B <b@x.test>, a@x.test") == ["a@x.test", "b@x.test"]
    assert handles(["+1 555", "", "U-BOB", "u-bob"]) == ["+1 555", "U-BOB"]
    assert subject_reply("Budget") == "Re: Budget" and subject_reply("re: Budget") == "re: Budget"
    assert subject_reply("") == "Re:"
