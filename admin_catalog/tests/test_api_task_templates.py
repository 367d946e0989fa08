"""Task templates (contract: "Task Templates API (Admin)"). Outsider personas: see test_api_permissions."""
import pytest

from admin_catalog.models import TaskTemplate
from tasks_app.models import Task

from .factories import SkillFactory, TaskTemplateFactory

BODY = {"name": "book-trip", "displayName": "Book a trip", "skill": "travel", "taskType": "travel",
        "defaultStatus": "pending", "titleTemplate": "Trip to {destination}",
        "descriptionTemplate": "Book travel to {destination}",
        "steps": ["Find flights", {"title": "Book hotel", "description": "Near the venue"}]}


@pytest.fixture
def travel(db):
    return SkillFactory(name="travel")


@pytest.mark.smoke
def test_create_answers_the_template(ops, travel):
    response = ops.client.post("/admin/task-templates", BODY)
    assert response.status_code == 201
    template = response.json()["taskTemplate"]
    assert template["id"].startswith("tmpl_")
    assert (template["skill"], template["skillId"], template["taskType"]) == ("travel", travel.id, "travel")
    assert template["steps"] == ["Find flights", {"title": "Book hotel", "description": "Near the venue"}]
    assert (template["status"], template["createdBy"]) == ("active", "ops@skej.com")


def test_minimal_template_gets_defaults(ops):
    template = ops.client.post("/admin/task-templates", {"name": "t", "displayName": "T"}).json()["taskTemplate"]
    assert (template["taskType"], template["defaultStatus"], template["steps"], template["skill"]) == (
        "task", "pending", [], None)


@pytest.mark.parametrize(("field", "value"), [
    ("defaultStatus", "someday"),
    ("steps", [""]),
    ("steps", [{"description": "no title"}]),
    ("steps", [{"title": "x", "when": "now"}]),
    ("steps", [42]),
    ("steps", "not a list"),
    ("skill", "no-such-skill"),
    ("taskType", "has spaces"),
    ("taskType", "Has-Dash"),
])
def test_invalid_fields_answer_validation_error(ops, travel, field, value):
    response = ops.client.post("/admin/task-templates", {**BODY, field: value})
    assert response.status_code == 400 and response.json()["error_code"] == "validation_error"
    assert any(key.startswith(field) for key in response.json()["details"])
    assert not TaskTemplate.objects.exists()


def test_create_with_a_taken_name_answers_409(ops, travel):
    TaskTemplateFactory(name="book-trip")
    response = ops.client.post("/admin/task-templates", BODY)
    assert response.status_code == 409 and response.json()["error_code"] == "task_template_exists"


def test_update_replaces_steps_and_deactivates(ops):
    template = TaskTemplateFactory(steps=["a", "b"])
    response = ops.client.put(f"/admin/task-templates/{template.id}", {"steps": ["c"], "status": "inactive"})
    assert response.status_code == 200
    assert (response.json()["taskTemplate"]["steps"], response.json()["taskTemplate"]["status"]) == (["c"], "inactive")


def test_get_and_filtered_list(ops, travel):
    trip = TaskTemplateFactory(name="trip", skill=travel, task_type="travel")
    TaskTemplateFactory(name="other", status=TaskTemplate.Status.INACTIVE)
    client = ops.client
    assert client.get(f"/admin/task-templates/{trip.id}").json()["taskTemplate"]["name"] == "trip"
    assert [t["name"] for t in client.get("/admin/task-templates", {"skill": "travel"}).json()["taskTemplates"]] == [
        "trip"]
    assert [t["name"] for t in client.get("/admin/task-templates", {"taskType": "travel"}).json()["taskTemplates"]] == [
        "trip"]
    assert [t["name"] for t in client.get("/admin/task-templates", {"status": "inactive"}).json()["taskTemplates"]] == [
        "other"]


def test_list_query_count_does_not_grow_with_page_size(ops, travel, django_assert_max_num_queries):
    for _ in range(6):
        TaskTemplateFactory(skill=travel)
    client = ops.client
    client.get("/admin/task-templates")  # first call provisions the user and touches the certificate
    # auth: certificate, user (2); count; page of templates joined with their skill
    for per_page in (2, 6):
        with django_assert_max_num_queries(4):
            assert len(client.get("/admin/task-templates", {"perPage": per_page}).json()["taskTemplates"]) == per_page


def test_delete_keeps_tasks_built_from_the_template(ops, alice):
    template = TaskTemplateFactory()
    task = Task.objects.create(account=alice.account, title="Built", template=template)
    response = ops.client.delete(f"/admin/task-templates/{template.id}")
    assert response.json()["taskTemplate"] == {"id": template.id, "message": "Task template deleted successfully"}
    task.refresh_from_db()
    assert task.template_id is None
