"""The scheduling agent end to end through the HTTP API with the local engine and the fake Google and
Microsoft calendars: propose, read the reply, book, confirm."""
from datetime import datetime, timedelta

import pytest

from calendars_app.tests.conftest import providers  # noqa: F401  fixture
from directory.tests.factories import ContactFactory
from tasks_app.models import Meeting, Task

from .agent_fixtures import (  # noqa: F401  fixtures
    ADELAIDE, KOLKATA, LONDON, agent_inline, alice_calendar, ava, bob_calendar, email, event_types, inbox, iso,
    outbound, process, reading, resync,
)

REQUEST = "Ava, can you set up a meeting with Carol and me next week?"


def start_request(alice, inbox, capture, content=REQUEST, cc=("carol@partner.test",)):
    email(alice, inbox, content, sender="alice@acme.test", cc=cc)
    body = process(alice, inbox, capture)
    [task_id] = body["taskIds"]
    return body, Task.objects.get(id=task_id)


def proposal_of(task) -> Meeting:
    return Meeting.objects.get(task=task, status=Meeting.Status.PROPOSED)


def test_a_request_gets_three_slots_on_different_days_proposed_to_the_outside_participant(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    alice_calendar.google_event("alice@acme.test", "busy-monday", "2026-12-07T09:00:00Z", "2026-12-07T12:00:00Z")
    resync(alice)
    body, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    assert body["message"] is None and body["suppressed"] is True  # the task carries the conversation on
    assert task.status == "in_progress" and task.metadata["waitingFor"] == "reply"
    meeting = proposal_of(task)
    slots = meeting.slots
    assert [slot["number"] for slot in slots] == [1, 2, 3]
    starts = [datetime.fromisoformat(slot["start"]).astimezone(LONDON) for slot in slots]
    assert len({start.date() for start in starts}) == 3  # different days
    assert all(start.date().isocalendar().week == 50 and 9 <= start.hour < 17 for start in starts)  # next week
    assert starts[0] >= datetime(2026, 12, 7, 12, 0, tzinfo=LONDON)  # not over her busy morning
    assert task.metadata["scheduling"]["internalEmails"] == ["alice@acme.test"]
    assert task.metadata["scheduling"]["outside"] == ["carol@partner.test"]
    [sent] = outbound(inbox)
    assert sent.metadata["to"] == ["carol@partner.test"] and sent.metadata["cc"] == ["alice@acme.test"]
    assert sent.metadata["taskId"] == task.id and sent.metadata["subject"] == "Re: Catch-up"
    assert "1. Monday, December 7 at" in sent.content and "Europe/London (GMT)" in sent.content
    detail = alice.client.get(f"/tasks/{task.id}").json()["task"]
    assert detail["meetings"][0]["status"] == "proposed" and len(detail["meetings"][0]["slots"]) == 3
    assert detail["metadata"]["waitingFor"] == "reply"


def test_picking_the_second_slot_books_it_confirms_to_everyone_and_completes_the_task(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    second = proposal_of(task).slots[1]
    email(alice, inbox, "Thanks! The second one works for me.", sender="carol@partner.test",
          cc=("alice@acme.test",), subject="Re: Catch-up")
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.status == "completed" and body["taskIds"] == [task.id]
    booked = Meeting.objects.get(task=task)
    assert booked.status == "booked" and booked.start_at == datetime.fromisoformat(second["start"])
    assert booked.provider_event_id and booked.attendees == [{"email": "carol@partner.test", "name": ""}]
    confirmation = outbound(inbox)[-1]
    assert body["message"] == {"id": confirmation.id, "to": ["carol@partner.test"], "cc": ["alice@acme.test"],
                               "subject": "Re: Catch-up", "content": confirmation.content, "platform": "email"}
    assert "booked for" in confirmation.content and "Europe/London" in confirmation.content
    assert [r for r in alice_calendar.requests if r["method"] == "POST" and r["path"].endswith("/events")]
    types = event_types(alice)
    for expected in ("task.created", "message.outbound", "task.status_changed", "meeting.booked", "chat.processed"):
        assert expected in types


@pytest.mark.parametrize("reply", ["Wednesday at 2:30 works", "option 2", "the second one"])
def test_a_slot_is_recognised_by_number_ordinal_or_day_and_time(alice, inbox, alice_calendar, reply,
                                                                 django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    slots = proposal_of(task).slots
    if reply.startswith("Wednesday"):  # written as the proposal named it
        start = datetime.fromisoformat(slots[1]["start"]).astimezone(LONDON)
        reply = f"{start:%A} at {start.hour % 12 or 12}:{start:%M}{'pm' if start.hour >= 12 else 'am'} works"
    email(alice, inbox, reply, sender="carol@partner.test", cc=("alice@acme.test",))
    process(alice, inbox, django_capture_on_commit_callbacks)
    assert Meeting.objects.get(task=task, status="booked").start_at == datetime.fromisoformat(slots[1]["start"])


def test_none_of_these_work_proposes_the_next_ones(alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    first = {slot["start"] for slot in proposal_of(task).slots}
    email(alice, inbox, "Sorry, none of these work for me.", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    second = {slot["start"] for slot in proposal_of(task).slots}
    assert len(second) == 3 and not first & second
    assert task.status == "in_progress" and task.metadata["waitingFor"] == "reply" and task.metadata["round"] == 2
    assert body["message"]["content"] == outbound(inbox)[-1].content and body["taskIds"] == [task.id]
    assert not Meeting.objects.filter(task=task, status="booked").exists()


def test_a_reply_in_another_chat_does_not_touch_the_task(alice, inbox, ava, alice_calendar,
                                                         django_capture_on_commit_callbacks):
    from conversations.tests.factories import ChatFactory

    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    elsewhere = ChatFactory(assistant=ava)
    email(alice, elsewhere, "The second one works for me.", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, elsewhere, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert body["taskIds"] == [] and task.status == "in_progress" and task.metadata["waitingFor"] == "reply"
    assert not Meeting.objects.filter(task=task).exclude(status="proposed").exists()


def test_a_fixed_time_that_is_free_is_booked_at_once(alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    when = reading("next Tuesday at 10am", LONDON)
    body, task = start_request(alice, inbox, django_capture_on_commit_callbacks,
                               content="Ava, please set up a meeting with Carol next Tuesday at 10am.")
    task.refresh_from_db()
    assert task.status == "completed"
    booked = Meeting.objects.get(task=task)
    assert booked.status == "booked" and booked.start_at == when and booked.end_at == when + timedelta(minutes=30)
    [confirmation] = outbound(inbox)
    assert confirmation.metadata["to"] == ["carol@partner.test"] and "booked for" in confirmation.content


def test_a_fixed_time_that_is_busy_gets_alternatives(alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    when = reading("next Tuesday at 10am", LONDON)
    alice_calendar.google_event("alice@acme.test", "busy", iso(when), iso(when + timedelta(hours=1)))
    resync(alice)
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks,
                            content="Ava, please set up a meeting with Carol next Tuesday at 10am.")
    task.refresh_from_db()
    assert task.status == "in_progress" and task.metadata["waitingFor"] == "reply"
    assert not Meeting.objects.filter(task=task, status="booked").exists()
    [sent] = outbound(inbox)
    assert "doesn't work for everyone" in sent.content and "1. " in sent.content


def test_another_time_in_the_reply_is_booked_when_everyone_is_free(alice, inbox, alice_calendar,
                                                                    django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    when = reading("Friday at 4pm", LONDON)
    if when in [datetime.fromisoformat(slot["start"]) for slot in proposal_of(task).slots]:
        pytest.skip("Friday 4pm happens to be a proposed slot")
    email(alice, inbox, "None of those suit, could we do Friday at 4pm instead?", sender="carol@partner.test",
          cc=("alice@acme.test",))
    process(alice, inbox, django_capture_on_commit_callbacks)
    assert Meeting.objects.get(task=task, status="booked").start_at == when


def test_a_clarification_answered_in_the_chat_continues_the_same_task(alice, inbox, alice_calendar,
                                                                       django_capture_on_commit_callbacks):
    # no free time next week: the assistant asks its owner, who answers with a time of their own
    alice_calendar.google_event("alice@acme.test", "away", "2026-12-07", "2026-12-12")
    resync(alice)
    body, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.status == "needs_clarification" and body["message"] is None  # email: the task speaks
    [question] = outbound(inbox)
    assert question.metadata["to"] == ["alice@acme.test"]
    when = reading("Monday 14 December at 11am", LONDON)
    email(alice, inbox, "Monday 14 December at 11am works", sender="alice@acme.test", cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert Task.objects.count() == 1 and body["taskIds"] == [task.id] and task.status == "completed"
    assert Meeting.objects.get(task=task, status="booked").start_at == when
    statuses = [a.metadata.get("to") for a in task.activities.filter(type="status_change").order_by("created_at")]
    assert statuses[-2:] == ["in_progress", "completed"]


def test_no_free_time_asks_the_owner_alone_whether_to_widen(alice, inbox, alice_calendar,
                                                             django_capture_on_commit_callbacks):
    alice_calendar.google_event("alice@acme.test", "away", "2026-12-07", "2026-12-12")
    resync(alice)
    body, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.status == "needs_clarification" and task.metadata["waitingFor"] == "owner"
    [question] = outbound(inbox)
    assert question.metadata["to"] == ["alice@acme.test"] and question.metadata["cc"] == []
    assert "Shall I look further out" in question.content
    email(alice, inbox, "Yes, please look at the week after.", sender="alice@acme.test")
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.status == "in_progress" and task.metadata["waitingFor"] == "reply"
    assert body["message"]["to"] == ["carol@partner.test"]
    assert all(datetime.fromisoformat(slot["start"]).date() >= datetime(2026, 12, 12).date()
               for slot in proposal_of(task).slots)


def test_two_internal_participants_in_different_zones_get_times_in_the_recipients_zone(
        alice, bob, inbox, alice_calendar, bob_calendar, django_capture_on_commit_callbacks):
    ContactFactory(user=alice.user, name="Carol", email="carol@partner.test", timezone="Australia/Adelaide")
    bob_calendar.graph_event("AAMk-bob", "standup", "2026-12-07T09:00:00", "2026-12-07T10:30:00")
    resync(bob)
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks,
                            content="Ava, can you set up a meeting with Bob, Carol and me next week?",
                            cc=("bob@acme.test", "carol@partner.test"))
    assert task.metadata["scheduling"]["internalEmails"] == ["alice@acme.test", "bob@acme.test"]
    assert task.metadata["scheduling"]["timezone"] == "Australia/Adelaide"
    slots = proposal_of(task).slots
    for slot in slots:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        assert 9 <= start.astimezone(LONDON).hour and end.astimezone(LONDON).hour <= 17
        assert 9 <= start.astimezone(KOLKATA).hour and (end.astimezone(KOLKATA).hour, end.astimezone(KOLKATA).minute) <= (17, 0)
        assert start.astimezone(ADELAIDE).minute in (0, 30)
        assert not (datetime(2026, 12, 7, 9, 0, tzinfo=LONDON) <= start < datetime(2026, 12, 7, 10, 30, tzinfo=LONDON))
    [sent] = outbound(inbox)
    assert sent.metadata["to"] == ["carol@partner.test"] and sent.metadata["cc"] == ["alice@acme.test", "bob@acme.test"]
    assert "Australia/Adelaide (ACDT)" in sent.content
    first = datetime.fromisoformat(slots[0]["start"]).astimezone(ADELAIDE)
    assert f"1. {first:%A}, {first:%B} {first.day} at" in sent.content
    email(alice, inbox, "Option 1 please", sender="carol@partner.test", cc=("alice@acme.test", "bob@acme.test"))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    booked = Meeting.objects.get(task=task, status="booked")
    assert booked.start_at == datetime.fromisoformat(slots[0]["start"])
    assert {a["email"] for a in booked.attendees} == {"carol@partner.test", "bob@acme.test"}
    assert body["message"]["to"] == ["carol@partner.test"] and body["message"]["cc"] == ["alice@acme.test",
                                                                                       "bob@acme.test"]


# -- supervision -------------------------------------------------------------------------------------
def test_supervised_the_proposal_and_the_booking_wait_for_the_owners_approval(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    from tasks_app.models import Approval

    from .agent_fixtures import set_supervision

    set_supervision(alice, "supervised")
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.metadata["waitingFor"] == "approval" and outbound(inbox) == []
    held = Approval.objects.get(task=task, status="pending")
    assert held.kind == "send_message" and held.payload["to"] == ["carol@partner.test"]
    approved = alice.client.post(f"/approvals/{held.id}/approve", {"content": "Edited: " + held.payload["content"]})
    assert approved.status_code == 200, approved.json()
    task.refresh_from_db()
    [sent] = outbound(inbox)
    assert sent.content.startswith("Edited: ") and task.metadata["waitingFor"] == "reply"
    second = proposal_of(task).slots[1]

    email(alice, inbox, "Option 2 works", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    booking = Approval.objects.get(task=task, status="pending")
    assert body == {"ok": True, "message": None, "taskIds": [task.id], "approvalId": booking.id}
    assert booking.kind == "book_meeting" and booking.payload["start"] == second["start"]
    assert booking.payload["slotNumber"] == 2 and not Meeting.objects.filter(task=task, status="booked").exists()
    assert alice.client.post(f"/approvals/{booking.id}/approve").status_code == 200
    task.refresh_from_db()
    booked = Meeting.objects.get(task=task, status="booked")
    assert booked.start_at == datetime.fromisoformat(second["start"]) and task.status == "completed"
    confirmation = Approval.objects.get(task=task, status="pending")  # a message to others: held too
    assert confirmation.kind == "send_message" and "booked for" in confirmation.payload["content"]
    assert not Meeting.objects.filter(task=task, status="proposed").exists()


def test_a_rejected_booking_withdraws_that_time_and_the_next_reply_gets_other_times(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    from tasks_app.models import Approval

    from .agent_fixtures import set_supervision

    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)  # proposal sent unsupervised
    set_supervision(alice, "supervised")
    first = proposal_of(task).slots[0]
    email(alice, inbox, "The first one please", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    rejected = alice.client.post(f"/approvals/{body['approvalId']}/reject", {"reason": "I'm busy then"})
    assert rejected.status_code == 200, rejected.json()
    task.refresh_from_db()
    assert task.metadata["waitingFor"] == "reply" and task.status == "in_progress"
    assert [slot["number"] for slot in proposal_of(task).slots] == [2, 3]
    email(alice, inbox, "Hm, what about the first one?", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    approval = Approval.objects.get(id=body["approvalId"])  # the new proposal, held (a message to Carol)
    assert approval.kind == "send_message" and first["start"] not in {s["start"] for s in proposal_of(task).slots}
    assert not Meeting.objects.filter(task=task, status="booked").exists()


def test_on_sms_the_proposal_addresses_everyone_without_an_email_greeting(alice, inbox, alice_calendar,
                                                                          django_capture_on_commit_callbacks):
    response = alice.client.post(f"/chats/{inbox.id}/messages", {
        "content": "Ava, set up a meeting with Sam and me next week", "platform": "sms",
        "metadata": {"from": "alice@acme.test", "participants": ["+14155550199"]}})
    assert response.status_code == 201
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task = Task.objects.get(id=body["taskIds"][0])
    assert task.metadata["scheduling"]["outside"] == ["+14155550199"]
    reply, sent = outbound(inbox)  # on SMS the request is answered too, then the agent speaks
    assert body["message"]["id"] == reply.id and sent.metadata["taskId"] == task.id
    assert sent.platform == "sms" and sent.metadata["to"] == ["+14155550199", "alice@acme.test"]
    assert not sent.content.startswith("Hi") and "Acme" not in sent.content and "1. " in sent.content


def test_a_booking_the_calendar_refuses_is_told_to_the_owner_and_the_request_still_answers(
        alice, inbox, alice_calendar, django_capture_on_commit_callbacks):
    alice_calendar.fail("/events", 403, times=5)
    body, task = start_request(alice, inbox, django_capture_on_commit_callbacks,
                               content="Ava, please set up a meeting with Carol next Tuesday at 10am.")
    assert body["suppressed"] is True
    task.refresh_from_db()
    assert task.status == "needs_clarification" and task.metadata["waitingFor"] == "owner"
    [question] = outbound(inbox)
    assert question.metadata["to"] == ["alice@acme.test"] and "couldn't book" in question.content
    assert not Meeting.objects.filter(task=task).exists()


def test_an_expired_booking_approval_is_withdrawn_like_a_rejected_one(alice, inbox, alice_calendar,
                                                                      django_capture_on_commit_callbacks):
    from django.utils import timezone

    from tasks_app.approvals import approvals_expire
    from tasks_app.models import Approval

    from .agent_fixtures import set_supervision

    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    set_supervision(alice, "supervised")
    email(alice, inbox, "Option 3", sender="carol@partner.test", cc=("alice@acme.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    Approval.objects.filter(id=body["approvalId"]).update(expires_at=timezone.now())
    assert approvals_expire() == 1
    task.refresh_from_db()
    assert task.metadata["waitingFor"] == "reply" and task.metadata["proposeNext"] is True
    assert [slot["number"] for slot in proposal_of(task).slots] == [1, 2]
