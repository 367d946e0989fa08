import pytest

from admin_catalog.models import TaskTemplate
from admin_catalog.services import render_template_text
from tasks_app.models import Activity, Task
from tasks_app.services import task_create_with_template
from tskr.exceptions import BadRequest

from .factories import TaskTemplateFactory


@pytest.fixture
def template(db):
    return TaskTemplateFactory(
        name="book-trip", task_type="travel", default_status="in_progress",
        title_template="Trip to {destination}", description_template="Book {destination} for {traveller}",
        steps=["Find flights to {destination}", {"title": "Book hotel", "description": "Near {venue}"}])


@pytest.mark.smoke
def test_template_builds_task_and_one_subtask_per_step(alice, template):
    task = task_create_with_template(account=alice.account, template=template, actor_user=alice.user,
                                     owner=alice.user, context={"destination": "Lisbon", "venue": "the office"})
    assert (task.title, task.type, task.status, task.template_id) == (
        "Trip to Lisbon", "travel", "in_progress", template.id)
    assert task.description == "Book Lisbon for {traveller}"
    subtasks = list(task.subtasks.order_by("created_at", "id"))
    assert [(s.title, s.description, s.type, s.status, s.owner_id) for s in subtasks] == [
        ("Find flights to Lisbon", "", "travel", "pending", alice.user.id),
        ("Book hotel", "Near the office", "travel", "pending", alice.user.id),
    ]
    assert [s.metadata["templateStep"] for s in subtasks] == [0, 1]
    assert Activity.objects.filter(task=task, content="Task created", actor_user=alice.user).exists()


def test_explicit_title_and_description_override_the_templates(alice, template):
    task = task_create_with_template(account=alice.account, template=template, actor_user=None,
                                     title="My trip", description="")
    assert (task.title, task.description) == ("My trip", "")


def test_template_without_title_template_uses_its_display_name(alice):
    template = TaskTemplateFactory(display_name="Weekly sync", title_template="")
    task = task_create_with_template(account=alice.account, template=template, actor_user=None)
    assert task.title == "Weekly sync" and task.subtasks.count() == 0


def test_followers_and_assistant_are_set_on_the_task(alice, bob, template):
    from accounts.models import Assistant

    assistant = Assistant.objects.create(account=alice.account, name="Ava", email="ava@acme.test")
    task = task_create_with_template(account=alice.account, template=template, actor_user=alice.user,
                                     assistant=assistant, followers=[bob.user])
    assert list(task.followers.all()) == [bob.user] and task.assistant_id == assistant.id
    assert set(task.subtasks.values_list("assistant_id", flat=True)) == {assistant.id}


def test_inactive_template_is_refused_and_nothing_is_created(alice, template):
    template.status = TaskTemplate.Status.INACTIVE
    template.save()
    with pytest.raises(BadRequest) as error:
        task_create_with_template(account=alice.account, template=template, actor_user=None)
    assert error.value.error_code == "template_inactive"
    assert not Task.objects.exists()


@pytest.mark.parametrize(("text", "context", "expected"), [
    ("Hi {name}", {"name": "Ann"}, "Hi Ann"),
    ("Hi {name} {missing}", {"name": "Ann"}, "Hi Ann {missing}"),
    ("{name.__class__} {0} {", {"name": "Ann"}, "{name.__class__} {0} {"),
    ("Count {n}", {"n": 3}, "Count 3"),
    ("No context {x}", None, "No context {x}"),
])
def test_render_template_text_substitutes_only_known_plain_placeholders(text, context, expected):
    assert render_template_text(text, context) == expected
