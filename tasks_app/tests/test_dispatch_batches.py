"""The dispatcher fires a claimed batch in one transaction (issue 20's throughput): a batch of reminders costs
the same queries whatever its size, writes what one fire writes, and one action that fails fails alone."""
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Event
from conversations.models import Message
from conversations.tests.factories import ChatFactory
from tasks_app import schedule
from tasks_app.models import Activity, Meeting, ScheduledAction, Task
from tasks_app.tests.factories import MeetingFactory, TaskFactory
from tskr.infra.ids import derived_id

DUE = datetime.fromisoformat("2026-12-03T09:00:00+00:00")


def _reminders(caller, count: int, **body) -> list[dict]:
    tasks = []
    for n in range(count):
        response = caller.client.post("/tasks", {"title": f"Reminder: item {n}", "type": "reminders",
                                                 "dueAt": "2026-12-03T09:00:00Z", **body})
        assert response.status_code == 201, response.json()
        tasks.append(response.json()["task"])
    return tasks


def _dispatch_queries() -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        outcome = schedule.actions_dispatch_due(now=DUE)
    return outcome, len(queries)


@pytest.mark.parametrize("count", [4, 40])
def test_a_batch_of_reminders_costs_the_same_queries_whatever_its_size(alice, assistant, count):
    tasks = _reminders(alice, count, assistantId=assistant.id)
    outcome, queries = _dispatch_queries()
    assert outcome == {"fired": count}
    # the claim, then one transaction for the batch (savepoints counted): was ~18 queries a reminder
    assert queries <= 25, queries
    assert Task.objects.filter(id__in=[task["id"] for task in tasks], status="completed").count() == count


def test_a_batch_writes_what_one_fire_writes(alice, assistant):
    """The events and activities of a reminder fired in a batch are those of the task completed through the API."""
    fired, completed = _reminders(alice, 2, assistantId=assistant.id)
    assert alice.client.put(f"/tasks/{completed['id']}", {"status": "completed"}).status_code == 200
    assert schedule.actions_dispatch_due(now=DUE) == {"fired": 1}

    def written(task_id: str) -> list[tuple]:
        return [(event.type, event.data.get("previousAttributes"), event.data.get("status"))
                for event in Event.objects.filter(data__id=task_id, type__startswith="task.").order_by("created_at")
                if event.type != "task.created"]

    assert written(fired["id"]) == written(completed["id"]) == [
        ("task.updated", {"status": "pending", "allowedTransitions": Task(status="pending").allowed_transitions},
         "completed"),
        ("task.status_changed", {"status": "pending"}, "completed")]
    [event] = Event.objects.filter(type="task.updated", data__id=fired["id"])
    assert {key: value for key, value in event.data.items() if key not in ("previousAttributes", "updatedAt")} == {
        key: value for key, value in alice.client.get(f"/tasks/{fired['id']}").json()["task"].items()
        if key not in ("updatedAt", "nextAction", "activities", "subtasks", "meetings", "approvals")}
    assert [(activity.type, activity.content, activity.actor_assistant_id) for activity in
            Activity.objects.filter(task_id=fired["id"]).exclude(content="Task created").order_by("created_at")] == [("message", "Reminder: item 0", assistant.id),
                  ("status_change", "Status changed from pending to completed", assistant.id)]
    assert [action.status for action in ScheduledAction.objects.filter(task_id=fired["id"])] == ["fired"]


def test_one_reminder_failing_in_a_batch_fails_alone(alice, assistant):
    chat = ChatFactory(account=alice.account, assistant=assistant)
    tasks = _reminders(alice, 3)
    broken = Task.objects.get(id=tasks[1]["id"])
    Task.objects.filter(id=broken.id).update(source_chat=chat)
    [action] = ScheduledAction.objects.filter(task_id=broken.id)
    # behind the API: a message elsewhere already holds the id its reminder message derives, so its insert fails
    other = ChatFactory(account=alice.account, assistant=assistant)
    Message.objects.create(id=derived_id("msg", f"outbound:{action.key}:message"), account_id=alice.account.id,
                           chat=other, role="assistant", content="taken")

    assert schedule.actions_dispatch_due(now=DUE) == {"fired": 2, "retry": 1}
    action.refresh_from_db()
    assert action.status == "scheduled" and "IntegrityError" in action.last_error and action.locked_until > DUE
    assert sorted(event.data["taskId"] for event in Event.objects.filter(type="reminder.due")) == sorted(
        [tasks[0]["id"], tasks[2]["id"]])
    assert [task.status for task in Task.objects.filter(id__in=[task["id"] for task in tasks]).order_by("title")] == [
        "completed", "pending", "completed"]
    assert list(Activity.objects.filter(task_id=broken.id).values_list("content", flat=True)) == ["Task created"]


def test_an_action_whose_target_cannot_be_read_leaves_the_rest_of_its_batch_firing(alice):
    tasks = _reminders(alice, 2)
    meeting = MeetingFactory(task=TaskFactory(account=alice.account), owner=alice.user, status=Meeting.Status.BOOKED)
    # behind the planner: a meeting reminder without its channel (its re-read raises)
    bad = ScheduledAction.objects.create(account_id=alice.account.id, kind="meeting_reminder", key="bad",
                                         due_at=DUE - timedelta(minutes=1), wall_time="2026-12-03T08:59:00",
                                         zone="UTC", meeting_id=meeting.id, user_id=alice.user.id)
    assert schedule.actions_dispatch_due(now=DUE) == {"fired": 2, "retry": 1}
    bad.refresh_from_db()
    assert bad.status == "scheduled" and "KeyError" in bad.last_error
    assert Task.objects.filter(id__in=[task["id"] for task in tasks], status="completed").count() == 2
