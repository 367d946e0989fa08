"""What the scheduling agent's first step costs in queries (bench scenario 13 measures its time): the
same bound with one internal participant and with two, supervised (the proposal held as an approval)."""
import pytest

from calendars_app.tests.conftest import providers  # noqa: F401  fixture
from accounts.models import Event
from directory.models import UserIdentifier
from tasks_app.agent import task_start
from tasks_app.models import Approval, Task

from .agent_fixtures import (  # noqa: F401  fixtures
    agent_inline, alice_calendar, ava, bob_calendar, email, inbox, set_supervision,
)


def pending_request(alice, inbox, capture, cc) -> Task:
    """A scheduling request processed, its first step left queued (not run)."""
    email(alice, inbox, "Ava, can you find 30 minutes for us next week?", sender="alice@acme.test", cc=cc)
    with capture(execute=False):
        response = alice.client.post(f"/chats/{inbox.id}/process")
    [task_id] = response.json()["taskIds"]
    return Task.objects.get(id=task_id, status=Task.Status.PENDING)


@pytest.mark.parametrize("cc", [("carol@partner.test",), ("carol@partner.test", "bob@acme.test")])
def test_the_first_step_proposes_in_at_most_11_queries_whatever_the_participants(
        alice, bob, inbox, alice_calendar, bob_calendar, django_capture_on_commit_callbacks,
        django_assert_max_num_queries, cc):
    set_supervision(alice, "supervised")
    task = pending_request(alice, inbox, django_capture_on_commit_callbacks, cc)
    # 9 queries: the task locked with its account, owner, assistants, followers and source message
    # (one SELECT); the handles' identifiers, the owner's contacts' zones and the owner's identifiers
    # (one UNION ALL); the participants with their calendars; their busy time; the proposed meeting;
    # the approval (INSERT ... ON CONFLICT DO NOTHING); the task's activity; its row; the approval's
    # event and the task's two in one INSERT. 2 savepoint statements: the step's own (the test runs
    # in a transaction), none for the approval nor for the update inside the step.
    with django_assert_max_num_queries(9 + 2):
        task_start(account_id=alice.account.id, task_id=task.id)
    task.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS and task.metadata["waitingFor"] == "approval"
    assert Approval.objects.get(task=task).payload["cc"] == ["alice@acme.test", *cc[1:]]


def test_a_participant_named_by_another_identifier_is_internal_and_an_unknown_handle_outside(
        alice, bob, inbox, alice_calendar, bob_calendar, django_capture_on_commit_callbacks):
    UserIdentifier.objects.create(account=bob.account, user=bob.user, type="slack", value="u0bob")
    response = alice.client.post(f"/chats/{inbox.id}/messages", {
        "content": "Ava, can you find 30 minutes for us next week?", "platform": "email",
        "metadata": {"from": "alice@acme.test", "to": ["ava@acme.test"], "cc": ["carol@partner.test"],
                     "mentions": ["U0BOB", "U0NOBODY"], "subject": "Sync"}})
    assert response.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        [task_id] = alice.client.post(f"/chats/{inbox.id}/process").json()["taskIds"]
    plan = Task.objects.get(id=task_id).metadata["scheduling"]
    assert plan["internal"] == [alice.user.id, bob.user.id]
    assert plan["internalEmails"] == ["alice@acme.test", "bob@acme.test"]
    assert plan["outside"] == ["carol@partner.test", "U0NOBODY"]


def test_the_first_step_of_a_task_with_followers_announces_them_and_its_approval_first(
        alice, bob, inbox, alice_calendar, bob_calendar, django_capture_on_commit_callbacks):
    """The followers are read only when the task has some (`reads.task_locked`); the held proposal's
    `approval.requested` goes in the same INSERT as the task's events, before them."""
    set_supervision(alice, "supervised")
    task = pending_request(alice, inbox, django_capture_on_commit_callbacks, ("carol@partner.test",))
    task.followers.add(bob.user)
    before = set(Event.objects.filter(account=alice.account).values_list("id", flat=True))
    task_start(account_id=alice.account.id, task_id=task.id)
    events = list(Event.objects.filter(account=alice.account).exclude(id__in=before).order_by("created_at", "id")
                  .values_list("type", "data"))
    assert [type_ for type_, _ in events] == ["approval.requested", "task.updated", "task.status_changed"]
    assert [follower["id"] for follower in events[1][1]["followers"]] == [bob.user.id]


def test_the_first_step_unsupervised_sends_its_proposal_in_at_most_16_queries(
        alice, bob, inbox, alice_calendar, bob_calendar, django_capture_on_commit_callbacks,
        django_assert_max_num_queries):
    set_supervision(alice, "unsupervised")
    task = pending_request(alice, inbox, django_capture_on_commit_callbacks, ("carol@partner.test",))
    # 14 queries: the task locked (as above); the handles; the participants; their busy time; the
    # proposed meeting; the chat's platform and subject; is the message (its id derived from the step)
    # new; the message, the chat's counters and chat.message.created; the message's activity; the
    # status activity; the task's row; message.outbound and the task's two events in one INSERT. 2
    # savepoint statements: the step's own (no read and savepoint for a keyed message.outbound).
    with django_assert_max_num_queries(14 + 2):
        task_start(account_id=alice.account.id, task_id=task.id)


def test_the_tasks_in_hand_of_a_chat_are_its_open_ones_and_its_scheduling_ones_booked_ahead(
        alice, bob, charlie, inbox, ava, django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from conversations.tests.factories import ChatFactory
    from tasks_app.agent.reads import tasks_in_hand
    from tasks_app.agent.steps import OPEN_STATUSES
    from tasks_app.models import Meeting

    from .factories import MeetingFactory, TaskFactory

    now = timezone.now()
    account, started = alice.account, now - timedelta(days=1)

    def task(status, type="scheduling", chat=inbox, minutes=0, **fields):
        made = TaskFactory(account=chat.account, source_chat=chat, status=status, type=type, owner=alice.user,
                           **fields)
        Task.objects.filter(id=made.id).update(updated_at=started + timedelta(minutes=minutes))
        return made

    pending, in_progress = task("pending", minutes=1), task("in_progress", type="travel", minutes=2)
    clarifying = task("needs_clarification", minutes=3)
    booked_ahead, booked_past = task("completed", minutes=4), task("completed", minutes=5)
    MeetingFactory(task=booked_ahead, owner=alice.user, status=Meeting.Status.BOOKED, start_at=now + timedelta(hours=1))
    MeetingFactory(task=booked_past, owner=alice.user, status=Meeting.Status.BOOKED, start_at=now - timedelta(hours=1))
    cancelled_ahead = task("completed", minutes=6)
    MeetingFactory(task=cancelled_ahead, owner=alice.user, status=Meeting.Status.CANCELLED,
                   start_at=now + timedelta(hours=2))
    task("completed", type="travel", minutes=7)
    task("pending", chat=ChatFactory(assistant=ava), minutes=8)  # another chat of the account
    other_account_chat = ChatFactory(assistant__account=charlie.account)
    TaskFactory(account=charlie.account, source_chat=other_account_chat, status="pending")

    def read(chat_id=inbox.id, account_id=account.id, limit=5):
        return tasks_in_hand(account_id=account_id, chat_id=chat_id, open_statuses=OPEN_STATUSES,
                             skill="scheduling", now=now, limit=limit)

    with django_assert_num_queries(1):
        found = read()
        owners = {found_task.owner.email for found_task in found}  # loaded with the task
    assert [found_task.id for found_task in found] == [booked_ahead.id, clarifying.id, in_progress.id, pending.id]
    assert owners == {"alice@acme.test"}
    assert found[0].metadata == {} and found[0].updated_at == started + timedelta(minutes=4)
    assert [found_task.id for found_task in read(limit=2)] == [booked_ahead.id, clarifying.id]
    assert read(chat_id=other_account_chat.id) == []  # another account's chat, asked for by this account
