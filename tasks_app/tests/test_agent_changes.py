"""Changes of course from the chat, with the local engine through the HTTP API (issue 19's follow-ups to
open tasks): work called off, a meeting moved (open or booked, on the fake Google calendar), a trip's
dates given after the assistant asked. Each with a message in another chat and a teammate who does
not own the task, neither of which touches it."""
from datetime import datetime, timedelta

from calendars_app.tests.conftest import providers  # noqa: F401  fixture
from conversations.tests.factories import ChatFactory
from directory.models import UserIdentifier
from tasks_app.models import Approval, Meeting, ScheduledAction, Task
from tasks_app.schedule import actions_dispatch_due

from .agent_fixtures import (  # noqa: F401  fixtures
    LONDON, agent_inline, alice_calendar, ava, email, event_types, inbox, outbound, process, reading,
    set_supervision,
)

FIXED = "Ava, please set up a meeting with Carol next Tuesday at 10am."


def say(caller, chat, content, *, sender="alice@acme.test", platform="chat", participants=()):
    metadata = {"from": sender, **({"participants": [sender, *participants]} if participants else {})}
    response = caller.client.post(f"/chats/{chat.id}/messages", {"content": content, "platform": platform,
                                                                 "metadata": metadata})
    assert response.status_code == 201, response.json()


def ask(caller, chat, capture, content, **kwargs) -> dict:
    say(caller, chat, content, **kwargs)
    return process(caller, chat, capture)


def booked_meeting(alice, inbox, capture) -> tuple[Task, Meeting]:
    """A meeting with Carol booked next Tuesday at 10am (unsupervised), its task completed."""
    email(alice, inbox, FIXED, sender="alice@acme.test", cc=("carol@partner.test",))
    [task_id] = process(alice, inbox, capture)["taskIds"]
    task = Task.objects.get(id=task_id, status="completed")
    return task, Meeting.objects.get(task=task, status="booked")


def proposal_of(task) -> Meeting:
    return Meeting.objects.get(task=task, status=Meeting.Status.PROPOSED)


# -- work called off --------------------------------------------------------------------------------
def test_a_reminder_called_off_is_completed_its_reminder_never_fires_and_the_owner_is_told(
        alice, inbox, django_capture_on_commit_callbacks):
    [task_id] = ask(alice, inbox, django_capture_on_commit_callbacks,
                    "remind me to call the plumber tomorrow at 8am")["taskIds"]
    action = ScheduledAction.objects.get(task_id=task_id)
    body = ask(alice, inbox, django_capture_on_commit_callbacks, "never mind that reminder, he already called")
    task = Task.objects.get(id=task_id)
    assert body["taskIds"] == [task_id] and task.status == "completed" and Task.objects.count() == 1
    assert body["message"]["to"] == ["alice@acme.test"] and "won't send that reminder" in body["message"]["content"]
    assert task.metadata["calledOff"]["messageId"]
    action.refresh_from_db()
    assert action.status == ScheduledAction.Status.CANCELLED
    sent = len(outbound(inbox))
    actions_dispatch_due(now=action.due_at + timedelta(minutes=1))
    assert len(outbound(inbox)) == sent  # nothing fired


def test_a_followup_called_off_from_needs_clarification_completes_through_in_progress_and_stops(
        alice, inbox, django_capture_on_commit_callbacks):
    UserIdentifier.objects.create(account=alice.account, user=alice.user, type="slack", value="U0ALICE")
    [task_id] = ask(alice, inbox, django_capture_on_commit_callbacks,
                    "Ava, follow up with Tom about the signed SOW on Friday", platform="slack", sender="U0ALICE",
                    participants=["U0TOM"])["taskIds"]
    action = ScheduledAction.objects.get(task_id=task_id, kind="followup", status="scheduled")
    assert action.payload["person"] == "U0TOM"
    Task.objects.filter(id=task_id).update(status="needs_clarification")
    body = ask(alice, inbox, django_capture_on_commit_callbacks, "he just sent it, you can stop chasing",
               platform="slack", sender="U0ALICE")
    task = Task.objects.get(id=task_id)
    assert body["taskIds"] == [task_id] and task.status == "completed"
    assert "stopped following up" in body["message"]["content"] and body["message"]["to"] == ["U0ALICE"]
    moves = [a.metadata.get("to") for a in task.activities.filter(type="status_change").order_by("created_at")][-2:]
    assert moves == ["in_progress", "completed"]
    action.refresh_from_db()
    assert action.status == ScheduledAction.Status.CANCELLED


def test_calling_off_in_another_chat_or_by_a_teammate_leaves_the_task_running(
        alice, bob, inbox, ava, django_capture_on_commit_callbacks):
    [task_id] = ask(alice, inbox, django_capture_on_commit_callbacks,
                    "remind me to call the plumber tomorrow at 8am")["taskIds"]
    elsewhere = ChatFactory(assistant=ava)
    body = ask(alice, elsewhere, django_capture_on_commit_callbacks, "never mind that reminder")
    assert body["taskIds"] == [] and body["message"]["content"]  # answered as any other message
    body = ask(bob, inbox, django_capture_on_commit_callbacks, "never mind that reminder", sender="bob@acme.test")
    assert body["taskIds"] == [] and "won't send" not in body["message"]["content"]
    task = Task.objects.get(id=task_id)
    assert task.status == "pending" and "calledOff" not in task.metadata
    assert ScheduledAction.objects.get(task_id=task_id).status == ScheduledAction.Status.SCHEDULED


def test_a_proposal_called_off_is_dropped_with_its_held_approval(alice, inbox, alice_calendar,
                                                                 django_capture_on_commit_callbacks):
    set_supervision(alice, "supervised")
    email(alice, inbox, "Ava, can you set up a meeting with Carol and me next week?", sender="alice@acme.test",
          cc=("carol@partner.test",))
    [task_id] = process(alice, inbox, django_capture_on_commit_callbacks)["taskIds"]
    held = Approval.objects.get(task_id=task_id, status="pending")
    email(alice, inbox, "Forget it, cancel the meeting. We sorted it out by phone.", sender="alice@acme.test")
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task = Task.objects.get(id=task_id)
    assert body["taskIds"] == [task_id] and task.status == "completed" and not Meeting.objects.filter(task=task)
    held.refresh_from_db()
    assert held.status == "rejected" and held.decided_by_id == alice.user.id and "called off" in held.reason
    assert body["message"]["to"] == ["alice@acme.test"] and body["message"]["content"].startswith("Hi Alice,")
    assert "approval.rejected" in event_types(alice)


def test_a_booked_meeting_called_off_is_cancelled_at_the_provider_and_everyone_told(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    email(alice, inbox, "Forget it, cancel the meeting", sender="alice@acme.test", cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    meeting.refresh_from_db()
    assert meeting.status == "cancelled" and alice_calendar.count("/events", "DELETE") == 1
    notice = next(m for m in outbound(inbox) if m.metadata["to"] == ["carol@partner.test"] and "cancelled" in m.content)
    assert "is cancelled" in notice.content
    assert body["taskIds"] == [task.id] and "cancelled the meeting" in body["message"]["content"]


def test_a_booked_meeting_called_off_supervised_waits_for_approval_then_is_cancelled(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    set_supervision(alice, "supervised")
    email(alice, inbox, "never mind, cancel the meeting", sender="alice@acme.test")
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    held = Approval.objects.get(id=body["approvalId"])
    assert body["message"] is None and held.kind == "cancel_meeting" and held.payload["meetingId"] == meeting.id
    task.refresh_from_db()
    meeting.refresh_from_db()
    assert task.status == "in_progress" and task.metadata["waitingFor"] == "approval" and meeting.status == "booked"
    assert alice.client.post(f"/approvals/{held.id}/approve").status_code == 200
    task.refresh_from_db()
    meeting.refresh_from_db()
    assert meeting.status == "cancelled" and task.status == "completed"
    notice = Approval.objects.get(task=task, status="pending")  # telling Carol: a message to others, held
    assert notice.payload["to"] == ["carol@partner.test"] and "is cancelled" in notice.payload["content"]


# -- a meeting moved --------------------------------------------------------------------------------
def test_a_booked_meeting_moved_to_a_free_time_is_rescheduled_and_everyone_told(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    when = reading("next Thursday at 2pm", LONDON)
    email(alice, inbox, "Something came up, can we push it to next Thursday at 2pm instead?",
          sender="alice@acme.test", cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    meeting.refresh_from_db()
    assert (meeting.status, meeting.start_at, meeting.sequence) == ("booked", when, 1)
    assert alice_calendar.count("/events", "PATCH") == 1 and Meeting.objects.filter(task=task).count() == 1
    task.refresh_from_db()
    assert body["taskIds"] == [task.id] and task.status == "completed" and "moving" not in task.metadata
    assert body["message"]["to"] == ["carol@partner.test"] and "has moved to" in body["message"]["content"]
    assert "meeting.rescheduled" in event_types(alice)


def test_a_booked_meeting_moved_supervised_is_held_as_a_reschedule_approval(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    set_supervision(alice, "supervised")
    when = reading("next Thursday at 2pm", LONDON)
    email(alice, inbox, "can we move it to next Thursday at 2pm?", sender="alice@acme.test")
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    held = Approval.objects.get(id=body["approvalId"])
    assert body["message"] is None and held.kind == "reschedule_meeting"
    assert (held.payload["meetingId"], datetime.fromisoformat(held.payload["start"])) == (meeting.id, when)
    meeting.refresh_from_db()
    assert meeting.start_at == reading("next Tuesday at 10am", LONDON)  # not moved until approved
    assert alice.client.post(f"/approvals/{held.id}/approve").status_code == 200
    meeting.refresh_from_db()
    task.refresh_from_db()
    assert meeting.start_at == when and task.status == "completed"
    notice = Approval.objects.get(task=task, status="pending")
    assert "has moved to" in notice.payload["content"]


def test_a_booked_meeting_moved_to_a_busy_time_gets_times_proposed_and_the_pick_moves_it(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    from .agent_fixtures import iso, resync

    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    when = reading("next Thursday at 2pm", LONDON)
    alice_calendar.google_event("alice@acme.test", "busy", iso(when), iso(when + timedelta(hours=1)))
    resync(alice)
    email(alice, inbox, "can we push it to next Thursday at 2pm?", sender="alice@acme.test",
          cc=("carol@partner.test",))
    process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.status == "in_progress" and task.metadata["moving"] == meeting.id
    second = proposal_of(task).slots[1]
    assert "doesn't work for everyone" in outbound(inbox)[-1].content
    email(alice, inbox, "The second one works", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    meeting.refresh_from_db()
    task.refresh_from_db()
    assert meeting.start_at == datetime.fromisoformat(second["start"]) and meeting.sequence == 1
    assert Meeting.objects.filter(task=task).count() == 1 and task.status == "completed"  # moved, not booked again
    assert body["taskIds"] == [task.id] and "has moved to" in body["message"]["content"]


def test_a_booked_meeting_moved_to_a_day_without_a_time_gets_that_days_times_proposed(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    thursday = reading("next Thursday at 9am", LONDON).date()
    email(alice, inbox, "can we move it to next Thursday?", sender="alice@acme.test", cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    meeting.refresh_from_db()
    starts = [datetime.fromisoformat(slot["start"]).astimezone(LONDON) for slot in proposal_of(task).slots]
    assert starts and all(start.date() == thursday for start in starts)
    assert task.status == "in_progress" and task.metadata["moving"] == meeting.id and meeting.sequence == 0
    assert body["message"]["to"] == ["carol@partner.test"] and "needs a new time" in body["message"]["content"]


def test_an_open_request_moved_to_a_day_gets_that_days_times(alice, inbox, alice_calendar,
                                                             django_capture_on_commit_callbacks):
    email(alice, inbox, "Ava, can you set up a meeting with Carol and me next week?", sender="alice@acme.test",
          cc=("carol@partner.test",))
    [task_id] = process(alice, inbox, django_capture_on_commit_callbacks)["taskIds"]
    thursday = reading("next Thursday at 9am", LONDON).date()
    email(alice, inbox, "actually make it next Thursday afternoon", sender="alice@acme.test")
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task = Task.objects.get(id=task_id)
    starts = [datetime.fromisoformat(slot["start"]).astimezone(LONDON) for slot in proposal_of(task).slots]
    assert body["taskIds"] == [task_id] and Task.objects.count() == 1 and task.metadata["waitingFor"] == "reply"
    assert starts and all(start.date() == thursday and 12 <= start.hour < 17 for start in starts)


def test_a_move_in_another_chat_or_by_a_teammate_who_is_not_a_participant_leaves_the_meeting(
        alice, bob, inbox, ava, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    elsewhere = ChatFactory(assistant=ava)
    email(alice, elsewhere, "can we push it to next Thursday at 2pm instead?", sender="alice@acme.test")
    assert task.id not in process(alice, elsewhere, django_capture_on_commit_callbacks)["taskIds"]
    email(bob, inbox, "can we push it to next Thursday at 2pm instead?", sender="bob@acme.test")
    assert task.id not in process(bob, inbox, django_capture_on_commit_callbacks)["taskIds"]
    meeting.refresh_from_db()
    task.refresh_from_db()
    assert meeting.start_at == reading("next Tuesday at 10am", LONDON) and meeting.sequence == 0
    assert task.status == "completed" and alice_calendar.count("/events", "PATCH") == 0


# -- a trip's dates ---------------------------------------------------------------------------------
def test_a_trips_dates_given_after_the_question_update_its_brief_and_set_it_pending(
        alice, inbox, django_capture_on_commit_callbacks):
    [task_id] = ask(alice, inbox, django_capture_on_commit_callbacks, "book me a flight to Paris")["taskIds"]
    assert Task.objects.get(id=task_id).status == "needs_clarification"
    body = ask(alice, inbox, django_capture_on_commit_callbacks, "leaving the 10th, back on the 14th")
    task = Task.objects.get(id=task_id)
    assert body["taskIds"] == [task_id] and Task.objects.count() == 1 and task.status == "pending"
    assert task.metadata["brief"]["dates"] == "leaving the 10th, back on the 14th"
    assert "Dates: leaving the 10th, back on the 14th" in task.description
    assert "Clarification needed" not in task.description
    assert body["message"]["to"] == ["alice@acme.test"] and "added your dates" in body["message"]["content"]
    edit = task.activities.get(type="edit")
    assert edit.metadata["field"] == "description"


def test_dates_in_another_chat_by_a_teammate_or_for_another_trip_leave_the_trip_waiting(
        alice, bob, inbox, ava, django_capture_on_commit_callbacks):
    [task_id] = ask(alice, inbox, django_capture_on_commit_callbacks, "book me a flight to Paris")["taskIds"]
    elsewhere = ChatFactory(assistant=ava)
    assert ask(alice, elsewhere, django_capture_on_commit_callbacks, "leaving the 10th, back on the 14th")[
        "taskIds"] == []
    assert ask(bob, inbox, django_capture_on_commit_callbacks, "leaving the 10th, back on the 14th",
               sender="bob@acme.test")["taskIds"] == []
    other = ask(alice, inbox, django_capture_on_commit_callbacks, "also a hotel in Porto from the 12th to the 15th")
    assert other["taskIds"] and task_id not in other["taskIds"]  # another trip: a task of its own
    task = Task.objects.get(id=task_id)
    assert task.status == "needs_clarification" and "dates" not in task.metadata["brief"]


def test_a_booked_meeting_is_not_called_off_by_a_never_mind_that_does_not_name_it(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    task, meeting = booked_meeting(alice, inbox, django_capture_on_commit_callbacks)
    email(alice, inbox, "never mind, I found the file", sender="alice@acme.test")
    assert process(alice, inbox, django_capture_on_commit_callbacks)["taskIds"] == []
    meeting.refresh_from_db()
    assert meeting.status == "booked" and alice_calendar.count("/events", "DELETE") == 0
