"""Each task event is emitted by its action with the task as the API answers it."""
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Event
from tasks_app import services

from .factories import TaskFactory


def events(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]


def test_creating_a_task_emits_task_created(alice):
    response = alice.client.post("/tasks", {"title": "Book flights"})
    assert response.status_code == 201
    assert events("task.created") == [response.json()["task"]]


def test_an_update_emits_task_updated_with_the_previous_attributes(alice, bob):
    task = alice.client.post("/tasks", {"title": "Book flights"}).json()["task"]
    updated = alice.client.put(f"/tasks/{task['id']}", {
        "title": "Book trains", "ownerId": bob.user.id, "followerIds": [alice.user.id, bob.user.id],
        "dueAt": "2026-12-01T09:30:00Z", "metadata": {"trip": "Lyon"}}).json()["task"]
    [data] = events("task.updated")
    previous = data.pop("previousAttributes")
    assert data == updated
    assert previous == {"title": "Book flights", "owner": task["owner"], "followers": [], "dueAt": None,
                        "metadata": {}}
    assert data["owner"]["id"] == bob.user.id and len(data["followers"]) == 2
    assert events("task.status_changed") == []


def test_a_status_change_emits_task_status_changed_too(alice):
    task = alice.client.post("/tasks", {"title": "Book flights"}).json()["task"]
    alice.client.put(f"/tasks/{task['id']}", {"status": "in_progress"})
    [changed] = events("task.status_changed")
    assert changed["status"] == "in_progress" and changed["previousAttributes"] == {"status": "pending"}
    [updated] = events("task.updated")
    assert updated["previousAttributes"]["status"] == "pending"


def test_an_update_that_changes_nothing_emits_nothing(alice):
    task = alice.client.post("/tasks", {"title": "Book flights"}).json()["task"]
    alice.client.put(f"/tasks/{task['id']}", {"title": "Book flights"})
    assert events("task.updated") == []


def test_deleting_a_task_emits_task_deleted_with_the_task(alice):
    task = alice.client.post("/tasks", {"title": "Book flights"}).json()["task"]
    assert alice.client.delete(f"/tasks/{task['id']}").status_code == 200
    [data] = events("task.deleted")
    assert data["id"] == task["id"] and data["title"] == "Book flights"


def test_a_refused_update_emits_nothing(alice):
    task = alice.client.post("/tasks", {"title": "Book flights"}).json()["task"]
    response = alice.client.put(f"/tasks/{task['id']}", {"title": "Renamed", "status": "exploded"})
    assert response.status_code == 400
    assert not Event.objects.filter(type="task.updated").exists()


def test_a_rolled_back_task_change_emits_nothing(alice):
    try:
        with transaction.atomic():
            services.task_create(account=alice.account, title="Never")
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert not Event.objects.exists()


def test_emitting_costs_one_insert_on_the_update_path(alice):
    task = TaskFactory(account=alice.account, owner=alice.user)
    with CaptureQueriesContext(connection) as queries:
        services.task_update(task=task, actor_user=alice.user, title="Renamed")
    inserts = [q["sql"] for q in queries if 'INSERT INTO "accounts_event"' in q["sql"]]
    assert len(inserts) == 1
