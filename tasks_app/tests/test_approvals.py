"""Supervision and outbound messages: actions held as approvals, decided by the task owner once."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone as django_timezone

from accounts.models import Event
from conversations.models import Message
from conversations.services import message_add
from conversations.tests.factories import AssistantFactory, ChatFactory
from directory.models import UserIdentifier
from directory.services import preferences_set
from tasks_app.approvals import action_submit, approvals_expire
from tasks_app.models import Activity, Approval, Meeting, Task
from tasks_app.outbound import outbound_message_send
from tasks_app.services import task_create

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 12, 8, 15, tzinfo=timezone.utc)


def supervise(caller, mode: str) -> None:
    identifier = UserIdentifier.objects.get(user=caller.user, type=UserIdentifier.Type.EMAIL, primary=True)
    preferences_set(identifier=identifier, skill="scheduling", values={"defaults": {"supervision": mode}})


def email_task(caller, *, subject="Planning") -> Task:
    chat = ChatFactory(account=caller.account, assistant=AssistantFactory(account=caller.account))
    message_add(chat=chat, actor=caller.user, content="Ava, find us 30 minutes", platform=Message.Platform.EMAIL,
                metadata={"from": caller.email, "to": ["ava@acme.test"], "cc": ["raj@outside.test"],
                          "subject": subject})
    return task_create(account=caller.account, title="Meet Raj", owner=caller.user, actor_user=caller.user,
                       type="scheduling", source_chat=chat)


def message_payload(**overrides) -> dict:
    return {"content": "Would Tuesday 10:00 work?", "to": ["raj@outside.test"], "cc": ["alice@acme.test"],
            "subject": None, "inReplyTo": None, **overrides}


def booking_payload(start=START) -> dict:
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(), "timezone": "UTC",
            "title": "Alice / Raj", "attendees": [{"email": "raj@outside.test", "name": "Raj"}],
            "meetingType": "virtual"}


def events(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]


# -- outbound messages -------------------------------------------------------------------------------

def test_an_outbound_email_is_a_message_an_activity_and_an_event_once_per_key(alice):
    task = email_task(alice, subject="Re: Planning")
    first = outbound_message_send(task=task, content="Tuesday 10:00?", to=["raj@outside.test"],
                                  cc=["alice@acme.test"], key="step-1")
    again = outbound_message_send(task=task, content="Tuesday 10:00?", to=["raj@outside.test"], key="step-1")
    assert again.id == first.id
    assert first.role == "assistant" and first.platform == "email" and first.chat_id == task.source_chat_id
    assert first.metadata == {"to": ["raj@outside.test"], "cc": ["alice@acme.test"], "subject": "Re: Planning",
                              "taskId": task.id, "inReplyTo": None}
    [activity] = Activity.objects.filter(task=task, type=Activity.Type.MESSAGE)
    assert activity.content == "Tuesday 10:00?" and activity.metadata["messageId"] == first.id
    assert events("message.outbound") == [{
        "messageId": first.id, "chatId": task.source_chat_id, "taskId": task.id, "platform": "email",
        "to": ["raj@outside.test"], "cc": ["alice@acme.test"], "subject": "Re: Planning",
        "content": "Tuesday 10:00?"}]
    assert Message.objects.filter(chat_id=task.source_chat_id, role="assistant").count() == 1


def test_an_outbound_sms_addresses_everyone_and_has_no_subject(alice):
    chat = ChatFactory(account=alice.account, assistant=AssistantFactory(account=alice.account))
    message_add(chat=chat, actor=alice.user, content="remind me", platform=Message.Platform.SMS,
                metadata={"from": "+14155550100", "participants": ["+14155550100"]})
    task = task_create(account=alice.account, title="Reminder", owner=alice.user, actor_user=alice.user,
                       source_chat=chat)
    message = outbound_message_send(task=task, content="Call mom", to=["+14155550100"], cc=["+14155550199"],
                                    subject="ignored", key="k")
    assert message.platform == "sms"
    assert message.metadata == {"to": ["+14155550100", "+14155550199"], "taskId": task.id, "inReplyTo": None}
    [event] = events("message.outbound")
    assert event["cc"] == [] and event["subject"] is None and event["to"] == ["+14155550100", "+14155550199"]


def test_a_task_without_a_chat_cannot_speak(alice):
    task = task_create(account=alice.account, title="Loose", owner=alice.user, actor_user=alice.user)
    response_error = None
    try:
        outbound_message_send(task=task, content="x", to=["a@b.test"], key="k")
    except Exception as exc:  # noqa: BLE001 - the error's code is the assertion
        response_error = exc
    assert getattr(response_error, "error_code", None) == "task_has_no_chat"


# -- supervision ---------------------------------------------------------------------------------------

def test_unsupervised_runs_the_action_at_once(alice):
    supervise(alice, "unsupervised")
    task = email_task(alice)
    outcome = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1")
    assert outcome.approval is None and isinstance(outcome.result, Message)
    assert Approval.objects.count() == 0 and len(events("message.outbound")) == 1


def test_supervised_holds_messages_to_others_but_not_to_the_owner(alice):
    task = email_task(alice)  # supervised is the default
    held = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1")
    assert held.result is None and held.approval.status == "pending" and held.approval.kind == "send_message"
    assert events("message.outbound") == []
    assert [data["id"] for data in events("approval.requested")] == [held.approval.id]
    assert action_submit(task=task, kind="send_message", payload=message_payload(), key="k1").approval.id == \
        held.approval.id
    assert len(events("approval.requested")) == 1
    to_owner = action_submit(task=task, kind="send_message",
                             payload=message_payload(to=["ALICE@acme.test"], cc=[]), key="k2")
    assert to_owner.approval is None and to_owner.result.metadata["to"] == ["ALICE@acme.test"]


def test_supervised_holds_a_booking_until_approved(alice):
    task = email_task(alice)
    held = action_submit(task=task, kind="book_meeting", payload=booking_payload(), key="book-1").approval
    assert Meeting.objects.count() == 0
    response = alice.client.post(f"/approvals/{held.id}/approve")
    assert response.status_code == 200, response.json()
    approval = response.json()["approval"]
    assert approval["status"] == "approved" and approval["decidedBy"] == alice.user.id
    [meeting] = Meeting.objects.all()
    assert meeting.status == "booked" and meeting.start_at == START and approval["result"] == {"meetingId": meeting.id}
    assert [data["id"] for data in events("meeting.booked")] == [meeting.id]
    assert [data["status"] for data in events("approval.approved")] == ["approved"]


def test_approving_a_message_with_an_edit_sends_the_edit(alice):
    task = email_task(alice)
    held = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1").approval
    response = alice.client.post(f"/approvals/{held.id}/approve", {"content": "Would Wednesday 11:00 work?"})
    assert response.status_code == 200
    [sent] = events("message.outbound")
    assert sent["content"] == "Would Wednesday 11:00 work?" and sent["to"] == ["raj@outside.test"]
    assert response.json()["approval"]["payload"]["content"] == "Would Wednesday 11:00 work?"
    assert response.json()["approval"]["result"] == {"messageId": sent["messageId"]}


def test_rejecting_drops_the_action(alice):
    task = email_task(alice)
    held = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1").approval
    response = alice.client.post(f"/approvals/{held.id}/reject", {"reason": "Too early"})
    assert response.status_code == 200
    assert response.json()["approval"]["status"] == "rejected" and response.json()["approval"]["reason"] == "Too early"
    assert events("message.outbound") == [] and len(events("approval.rejected")) == 1
    again = alice.client.post(f"/approvals/{held.id}/approve")
    assert again.status_code == 409 and again.json()["error_code"] == "approval_not_pending"


def test_only_the_owner_decides(alice, bob):
    task = email_task(alice)
    held = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1").approval
    assert bob.client.get(f"/approvals/{held.id}").status_code == 200  # teammates see the account's tasks
    for verb in ("approve", "reject"):
        response = bob.client.post(f"/approvals/{held.id}/{verb}")
        assert response.status_code == 403 and response.json()["error_code"] == "approval_not_owned"
    assert Approval.objects.get().status == "pending"


def test_expiry_after_the_ttl(alice, settings):
    task = email_task(alice)
    held = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1").approval
    assert held.expires_at - held.created_at == timedelta(hours=settings.TSKR_APPROVAL_TTL_HOURS)
    assert approvals_expire() == 0
    Approval.objects.filter(pk=held.pk).update(expires_at=django_timezone.now() - timedelta(seconds=1))
    late = alice.client.post(f"/approvals/{held.id}/approve")
    assert late.status_code == 409 and late.json()["error_code"] == "approval_not_pending"
    assert approvals_expire() == 1 and approvals_expire() == 0
    assert Approval.objects.get().status == "expired" and len(events("approval.expired")) == 1
    assert events("message.outbound") == []


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_concurrent_approvals_execute_once(alice):
    task = email_task(alice)
    held = action_submit(task=task, kind="book_meeting", payload=booking_payload(), key="book-1").approval
    barrier, codes = threading.Barrier(4), []

    def approve():
        try:
            barrier.wait()
            codes.append(alice.client.post(f"/approvals/{held.id}/approve").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409, 409, 409]
    assert Meeting.objects.count() == 1 and len(events("meeting.booked")) == 1


def test_an_approval_whose_slot_was_taken_stays_pending(alice):
    task = email_task(alice)
    held = action_submit(task=task, kind="book_meeting", payload=booking_payload(), key="book-1").approval
    supervise(alice, "unsupervised")
    action_submit(task=task, kind="book_meeting", payload=booking_payload(), key="other")  # takes the time
    response = alice.client.post(f"/approvals/{held.id}/approve")
    assert response.status_code == 409 and response.json()["error_code"] == "slot_unavailable"
    assert Approval.objects.get(pk=held.pk).status == "pending" and Meeting.objects.count() == 1


def test_list_is_the_callers_filtered_with_constant_queries(alice, bob):
    mine = email_task(alice)
    theirs = email_task(bob)
    for n in range(6):
        action_submit(task=mine, kind="send_message", payload=message_payload(content=f"m{n}"), key=f"a{n}")
    action_submit(task=theirs, kind="send_message", payload=message_payload(), key="b")
    listed = alice.client.get("/approvals").json()["approvals"]
    assert len(listed) == 6 and {item["taskId"] for item in listed} == {mine.id}
    assert [item["payload"]["content"] for item in listed] == [f"m{n}" for n in reversed(range(6))]
    assert alice.client.get("/approvals", {"status": "approved"}).json()["approvals"] == []
    assert len(alice.client.get("/approvals", {"taskId": theirs.id}).json()["approvals"]) == 0
    counts = []
    for size in (2, 6):
        with CaptureQueriesContext(connection) as queries:
            assert len(alice.client.get("/approvals", {"perPage": size}).json()["approvals"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    bad = alice.client.get("/approvals", {"status": "maybe"})
    assert bad.status_code == 400 and bad.json()["error_code"]


def test_management_tokens_cannot_decide(alice, manager):
    task = email_task(alice)
    held = action_submit(task=task, kind="send_message", payload=message_payload(), key="k1").approval
    response = manager.client.post(f"/approvals/{held.id}/approve")
    assert response.status_code == 403 and response.json()["error_code"] == "user_context_required"
