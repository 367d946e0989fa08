"""Changes of course from the chat with the Anthropic engine, through the real SDK against the local fake
Messages API: `continue_task` with an action (cancel, reschedule, update_brief), validated by the
server (a task of this chat, an action its type takes, a sender allowed to make it)."""
from calendars_app.tests.conftest import providers  # noqa: F401  fixture
from conversations.tests.factories import ChatFactory
from conversations.tests.fake_anthropic import text, tool_use
from tasks_app.models import Meeting, ScheduledAction, Task

from .agent_fixtures import (  # noqa: F401  fixtures
    LONDON, agent_inline, alice_calendar, ava, email, inbox, iso, process, reading,
)
from .test_agent_changes import ask


def created(alice, chat, anthropic_api, capture, content, **draft) -> Task:
    anthropic_api.answer(text("On it."), tool_use("create_task", {"title": "Task", "status": "pending", **draft}))
    [task_id] = ask(alice, chat, capture, content)["taskIds"]
    return Task.objects.get(id=task_id)


def test_continue_task_cancel_calls_a_reminder_off_and_its_reminder_never_fires(
        alice, inbox, anthropic_api, django_capture_on_commit_callbacks):
    task = created(alice, inbox, anthropic_api, django_capture_on_commit_callbacks,
                   "remind me to call the plumber tomorrow at 8am", type="reminders")
    anthropic_api.answer(text("Sure."), tool_use("continue_task", {"taskId": task.id, "action": "cancel"}))
    body = ask(alice, inbox, django_capture_on_commit_callbacks, "he called already, drop it")
    sent = anthropic_api.requests[-1]["body"]
    tool = next(tool for tool in sent["tools"] if tool["name"] == "continue_task")
    assert tool["input_schema"]["properties"]["action"]["enum"] == ["continue", "cancel", "reschedule", "update_brief"]
    assert f"- {task.id} (reminders, pending" in sent["system"][1]["text"]
    task.refresh_from_db()
    assert body["taskIds"] == [task.id] and task.status == "completed"
    assert "won't send that reminder" in body["message"]["content"]  # the server writes what is sent
    assert ScheduledAction.objects.get(task_id=task.id).status == ScheduledAction.Status.CANCELLED


def test_continue_task_reschedule_moves_the_booked_meeting_to_the_time_the_model_names(
        alice, inbox, alice_calendar, anthropic_api, django_capture_on_commit_callbacks):
    tuesday, thursday = reading("next Tuesday at 10am", LONDON), reading("next Thursday at 2pm", LONDON)
    anthropic_api.answer(tool_use("create_task", {"title": "Meet Carol", "type": "scheduling", "status": "pending",
                                                  "start": tuesday.isoformat()}))
    email(alice, inbox, "Ava, set up a meeting with Carol next Tuesday at 10am", sender="alice@acme.test",
          cc=("carol@partner.test",))
    [task_id] = process(alice, inbox, django_capture_on_commit_callbacks)["taskIds"]
    meeting = Meeting.objects.get(task_id=task_id, status="booked", start_at=tuesday)
    anthropic_api.answer(tool_use("continue_task", {"taskId": task_id, "action": "reschedule",
                                                    "start": thursday.isoformat()}))
    email(alice, inbox, "Could we move that to Thursday afternoon, say 2?", sender="alice@acme.test",
          cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    assert f"booked meeting: {tuesday.isoformat()}" in anthropic_api.requests[-1]["body"]["system"][1]["text"]
    meeting.refresh_from_db()
    assert meeting.start_at == thursday and meeting.sequence == 1 and alice_calendar.count("/events", "PATCH") == 1
    assert body["taskIds"] == [task_id] and "has moved to" in body["message"]["content"]


def test_continue_task_update_brief_gives_a_trip_its_dates(alice, inbox, anthropic_api,
                                                           django_capture_on_commit_callbacks):
    task = created(alice, inbox, anthropic_api, django_capture_on_commit_callbacks, "book me a flight to Paris",
                   type="travel", status="needs_clarification", question="What dates?")
    anthropic_api.answer(tool_use("continue_task", {"taskId": task.id, "action": "update_brief"}))
    body = ask(alice, inbox, django_capture_on_commit_callbacks, "out on the 10th, home on the 14th")
    task.refresh_from_db()
    assert body["taskIds"] == [task.id] and task.status == "pending"
    assert task.metadata["brief"]["dates"] == "out on the 10th, home on the 14th"
    assert "Clarification needed" not in task.description


def test_a_change_the_server_turns_down_leaves_the_task_and_answers_with_the_models_reply(
        alice, bob, inbox, ava, anthropic_api, django_capture_on_commit_callbacks):
    task = created(alice, inbox, anthropic_api, django_capture_on_commit_callbacks,
                   "remind me to call the plumber tomorrow at 8am", type="reminders")
    elsewhere = ChatFactory(assistant=ava)
    # another chat's task, a teammate who does not own it, an action its type does not take
    for caller, chat, call in (
            (alice, elsewhere, {"taskId": task.id, "action": "cancel"}),
            (bob, inbox, {"taskId": task.id, "action": "cancel"}),
            (alice, inbox, {"taskId": task.id, "action": "update_brief"})):
        anthropic_api.answer(text("Got it."), tool_use("continue_task", call))
        body = ask(caller, chat, django_capture_on_commit_callbacks, "never mind that reminder",
                   sender=caller.email)
        assert body["taskIds"] == [] and body["message"]["content"] == "Got it."
    task.refresh_from_db()
    assert task.status == "pending" and ScheduledAction.objects.get(task_id=task.id).status == "scheduled"
