"""The scheduling agent's side effects as the integrator sees them: webhook events, travel briefs, and
concurrent replies that never book twice."""
import pytest
from django.db import transaction

from accounts.models import Event
from calendars_app.tests.conftest import providers  # noqa: F401  fixture
from conversations.engine.types import StepAction, TaskStep
from conversations.models import Message
from directory.services import preferences_set
from tasks_app import agent
from tasks_app.models import Approval, Meeting, Task
from tskr.testing import run_together

from .agent_fixtures import (  # noqa: F401  fixtures
    agent_inline, alice_calendar, ava, email, identifier_of, inbox, outbound, process, set_supervision,
)
from .test_agent_local import start_request


def events(caller, type_: str) -> list[dict]:
    return list(Event.objects.filter(account=caller.account, type=type_).order_by("created_at", "id")
                .values_list("data", flat=True))


def test_every_step_is_told_to_the_integrator_by_webhook_events(alice, inbox, alice_calendar,
                                                                django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    [proposal] = outbound(inbox)
    [announced] = events(alice, "message.outbound")
    assert announced == {"messageId": proposal.id, "chatId": inbox.id, "taskId": task.id, "platform": "email",
                         "to": ["carol@partner.test"], "cc": ["alice@acme.test"], "subject": "Re: Catch-up",
                         "content": proposal.content}
    email(alice, inbox, "Option 3", sender="carol@partner.test", cc=("alice@acme.test",))
    process(alice, inbox, django_capture_on_commit_callbacks)
    [booked] = events(alice, "meeting.booked")
    assert booked["taskId"] == task.id and booked["status"] == "booked"
    assert len(events(alice, "message.outbound")) == 2
    moves = [(e["status"]) for e in events(alice, "task.status_changed")]
    assert moves == ["in_progress", "completed"]
    processed = events(alice, "chat.processed")[-1]
    assert processed["taskIds"] == [task.id] and processed["message"]["id"] == outbound(inbox)[-1].id


def test_a_held_action_is_announced_as_approval_requested(alice, inbox, alice_calendar,
                                                          django_capture_on_commit_callbacks):
    set_supervision(alice, "supervised")
    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    [requested] = events(alice, "approval.requested")
    assert requested["taskId"] == task.id and requested["kind"] == "send_message"
    assert events(alice, "message.outbound") == []
    alice.client.post(f"/approvals/{requested['id']}/approve")
    assert len(events(alice, "message.outbound")) == 1 and len(events(alice, "approval.approved")) == 1


def test_a_travel_request_gets_a_brief_from_the_travel_preferences(alice, inbox, django_capture_on_commit_callbacks):
    preferences_set(identifier=identifier_of(alice), skill="travel", values={
        "seatPreference": "aisle", "cabinClass": "business", "mealPreference": "vegetarian",
        "airlinePreferences": ["TP", "UA"]})
    email(alice, inbox, "Ava, please book me a flight to Lisbon on May 3", sender="alice@acme.test")
    [task_id] = process(alice, inbox, django_capture_on_commit_callbacks)["taskIds"]
    task = Task.objects.get(id=task_id)
    assert task.type == "travel" and task.metadata["brief"] == {"seat": "aisle", "cabin": "business",
                                                                "meal": "vegetarian", "airlines": ["TP", "UA"]}
    assert task.description.endswith("Travel brief: seat aisle; cabin business; meal vegetarian; airlines TP, UA.")


def test_a_travel_brief_leaves_out_what_is_not_set(alice, inbox, django_capture_on_commit_callbacks):
    email(alice, inbox, "Ava, book a flight to Oslo on June 2", sender="alice@acme.test")
    [task_id] = process(alice, inbox, django_capture_on_commit_callbacks)["taskIds"]
    task = Task.objects.get(id=task_id)
    assert task.metadata["brief"] == {"seat": None, "cabin": "economy", "meal": None, "airlines": []}
    assert task.description.endswith("Travel brief: cabin economy.")


@pytest.mark.django_db(transaction=True)
def test_two_replies_processed_at_once_never_book_twice(alice, inbox, alice_calendar):
    email(alice, inbox, "Ava, can you set up a meeting with Carol and me next week?", sender="alice@acme.test",
          cc=("carol@partner.test",))
    alice.client.post(f"/chats/{inbox.id}/process")  # the first step runs at commit (eager)
    task = Task.objects.get()
    assert task.metadata["waitingFor"] == "reply"
    message = email(alice, inbox, "Option 1", sender="carol@partner.test")
    latest = Message.objects.get(id=message["id"])

    def step(number):
        def run():
            with transaction.atomic():
                return agent.task_step_apply(account=alice.account, chat=inbox, message=latest,
                                             step=TaskStep(task_id=task.id, action=StepAction.BOOK_SLOT, slot=number))
        return run

    outcomes = run_together(step(1), step(2), step(3))
    done = [outcome for outcome in outcomes if outcome is not None and not isinstance(outcome, Exception)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, agent.AgentBusy)]
    assert len(done) == 1 and len(done) + len(refused) + outcomes.count(None) == 3, outcomes
    assert Meeting.objects.filter(task=task, status="booked").count() == 1
    assert Task.objects.get(id=task.id).status == "completed"
    assert sum("booked for" in sent.content for sent in outbound(inbox)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_process_calls_on_a_reply_book_once(alice, inbox, alice_calendar):
    email(alice, inbox, "Ava, can you set up a meeting with Carol and me next week?", sender="alice@acme.test",
          cc=("carol@partner.test",))
    alice.client.post(f"/chats/{inbox.id}/process")
    email(alice, inbox, "The second one works", sender="carol@partner.test")
    responses = run_together(*[lambda: alice.client.post(f"/chats/{inbox.id}/process") for _ in range(3)])
    assert {response.status_code for response in responses} <= {200, 409}
    assert Meeting.objects.filter(status="booked").count() == 1
    assert not Approval.objects.exists()


def test_a_queued_job_meeting_a_busy_task_is_deferred_not_failed(alice, inbox, alice_calendar,
                                                                 django_capture_on_commit_callbacks):
    from conversations import services as chat_services
    from conversations.models import ChatJob
    from tasks_app.services import task_lock_name
    from tskr.infra.locks import try_acquire

    _, task = start_request(alice, inbox, django_capture_on_commit_callbacks)
    email(alice, inbox, "Option 1", sender="carol@partner.test")
    held = try_acquire(task_lock_name(task.id), 30_000)
    job = ChatJob.objects.create(account=alice.account, chat=inbox, message_id=Message.objects.filter(
        chat=inbox, role="user").order_by("-timestamp").first().id)
    with pytest.raises(chat_services.ChatJobDeferred):
        chat_services.chat_job_run(job_id=job.id, account_id=alice.account.id)
    assert ChatJob.objects.get(id=job.id).status == "queued"
    assert held.release()
    chat_services.chat_job_run(job_id=job.id, account_id=alice.account.id)
    assert ChatJob.objects.get(id=job.id).status == "succeeded"
    assert Meeting.objects.filter(task=task, status="booked").count() == 1
