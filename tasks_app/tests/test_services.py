import pytest

from accounts.services import user_delete
from admin_catalog.tests.factories import TaskTemplateFactory
from tasks_app.models import TRANSITIONS, Activity, Task
from tasks_app.selectors import task_list
from tasks_app.services import task_create, task_ensure_transition, task_update
from tskr.exceptions import ApplicationError
from tskr.scoping import scoped


def test_every_status_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(Task.Status.values)
    for source, targets in TRANSITIONS.items():
        assert source not in targets and set(targets) <= set(Task.Status.values)


@pytest.mark.parametrize("source, target, allowed", [
    ("pending", "completed", True), ("completed", "in_progress", True), ("completed", "pending", False),
    ("completed", "failed", False), ("failed", "pending", True), ("failed", "completed", False),
    ("on_hold", "completed", False), ("needs_clarification", "in_progress", True), ("completed", "completed", True),
])
def test_transition_rules(source, target, allowed):
    task = Task(status=source)
    if allowed:
        task_ensure_transition(task=task, status=target)
    else:
        with pytest.raises(ApplicationError) as error:
            task_ensure_transition(task=task, status=target)
        assert error.value.status_code == 409 and error.value.details == {"status": list(TRANSITIONS[source])}


@pytest.mark.parametrize("fields, field", [({"type": "Travel Plans"}, "type"), ({"status": "done"}, "status")])
def test_task_create_refuses_invalid_type_or_status(alice, fields, field):
    with pytest.raises(ApplicationError) as error:
        task_create(account=alice.account, title="x", **fields)
    assert error.value.error_code == "validation_error" and field in error.value.details
    assert not Task.objects.exists()


def test_task_update_by_an_assistant_records_the_assistant_as_actor(alice, assistant):
    task = task_create(account=alice.account, title="x")
    task_update(task=task, actor_assistant=assistant, status="in_progress")
    change = Activity.objects.get(task=task, content__startswith="Status changed")
    assert (change.actor_assistant, change.actor_user) == (assistant, None)


def test_illegal_transition_writes_nothing(alice):
    task = task_create(account=alice.account, title="x", status="completed")
    with pytest.raises(ApplicationError):
        task_update(task=task, actor_user=alice.user, status="failed", title="changed")
    task.refresh_from_db()
    assert (task.status, task.title) == ("completed", "x")
    assert Activity.objects.filter(task=task).count() == 1


def test_tasks_survive_their_owners_deletion_without_an_owner(alice, bob):
    task = task_create(account=alice.account, title="x", owner=bob.user, followers=[bob.user, alice.user],
                       actor_user=bob.user)
    user_delete(user=bob.user)
    task.refresh_from_db()
    assert task.owner is None
    assert list(task.followers.all()) == [alice.user]
    assert Activity.objects.get(task=task).actor_user is None
    assert list(task_list(queryset=scoped(Task, account=alice.account))) == [task]


# -- templates through the API -------------------------------------------------------------------------------


def test_create_from_template_builds_subtasks_and_applies_body_fields(alice, bob):
    template = TaskTemplateFactory(task_type="travel", title_template="Trip to {city}", steps=["Book flight", "Hotel"])
    response = alice.client.post("/tasks", {"templateId": template.id, "templateContext": {"city": "Oslo"},
                                            "followerIds": [bob.user.id],
                                            "dueAt": "2026-12-24T12:00:00Z", "status": "in_progress"})
    assert response.status_code == 201, response.json()
    task = response.json()["task"]
    assert (task["templateId"], task["type"], task["status"], task["dueAt"]) == (
        template.id, "travel", "in_progress", "2026-12-24T12:00:00Z")
    assert task["title"] == "Trip to Oslo"
    assert task["owner"]["id"] == alice.user.id and [f["id"] for f in task["followers"]] == [bob.user.id]
    detail = alice.client.get(f"/tasks/{task['id']}").json()["task"]
    assert [s["title"] for s in detail["subtasks"]] == ["Book flight", "Hotel"]
    assert detail["activities"][0]["actor"]["id"] == alice.user.id


def test_create_from_an_inactive_template_is_refused(alice):
    template = TaskTemplateFactory(status="inactive")
    response = alice.client.post("/tasks", {"templateId": template.id, "title": "x"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "template_inactive"
    assert not Task.objects.exists()


# -- Django admin ------------------------------------------------------------------------------------------


def test_staff_admin_shows_a_task_with_its_history_read_only(alice, admin_client):
    parent = task_create(account=alice.account, title="Parent task", actor_user=alice.user)
    task_create(account=alice.account, title="Child task", parent=parent)
    page = admin_client.get(f"/staff/tasks_app/task/{parent.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Child task" in html and "Task created" in html
    assert 'name="title"' not in html  # read-only: edits go through the API and leave an activity
    assert admin_client.get("/staff/tasks_app/task/add/").status_code == 403
    assert "Parent task" in admin_client.get("/staff/tasks_app/task/").content.decode()
