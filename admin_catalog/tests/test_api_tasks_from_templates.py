"""End to end: POST /tasks with a catalog templateId builds the task and its subtasks."""
import pytest

from admin_catalog.models import TaskTemplate
from tasks_app.models import Task

from .factories import TaskTemplateFactory


@pytest.fixture
def template(db):
    return TaskTemplateFactory(name="plan-trip", display_name="Plan a trip", task_type="travel",
                               default_status="pending", title_template="Trip to {destination}",
                               steps=["Find flights", {"title": "Book a hotel", "description": "Near the office"}])


@pytest.mark.smoke
def test_post_tasks_with_template_id_creates_the_task_with_subtasks(alice, template):
    response = alice.client.post("/tasks", {"templateId": template.id, "title": "Trip to Oslo"})
    assert response.status_code == 201, response.json()
    task = Task.objects.get(id=response.json()["task"]["id"])
    assert (task.title, task.type, task.template_id, task.owner) == ("Trip to Oslo", "travel", template.id, alice.user)
    assert list(task.subtasks.order_by("created_at", "id").values_list("title", "description")) == [
        ("Find flights", ""), ("Book a hotel", "Near the office")]
    detail = alice.client.get(f"/tasks/{task.id}").json()["task"]
    assert len(detail["subtasks"]) == 2


def test_post_tasks_with_an_inactive_template_answers_400_and_creates_nothing(alice, template):
    template.status = TaskTemplate.Status.INACTIVE
    template.save()
    response = alice.client.post("/tasks", {"templateId": template.id})
    assert response.status_code == 400 and response.json()["error_code"] == "template_inactive"
    assert not Task.objects.exists()
