import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Assistant
from admin_catalog.models import Agent, Skill, SkillCategory, TaskTemplate
from admin_catalog.selectors import agent_config_for_assistant
from tasks_app.services import task_create_with_template

from .factories import AgentFactory

MODELS = [SkillCategory, Skill, TaskTemplate, Agent]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_catalog", *args, stdout=out)
    return out.getvalue()


def snapshot():
    return {model.__name__: sorted(model.objects.values_list("id", "updated_at")) for model in MODELS}


@pytest.mark.smoke
def test_seed_installs_the_builtin_catalog_with_a_default_agent(db):
    counts = json.loads(seed("--json"))
    assert counts == {"categories": {"created": 1, "unchanged": 0}, "skills": {"created": 4, "unchanged": 0},
                      "taskTemplates": {"created": 4, "unchanged": 0}, "agents": {"created": 1, "unchanged": 0}}
    assert sorted(Skill.objects.values_list("name", flat=True)) == ["followups", "reminders", "scheduling", "travel"]
    assert set(Skill.objects.values_list("category__name", flat=True)) == {"productivity"}
    assert sorted(TaskTemplate.objects.values_list("skill__name", "task_type")) == [
        ("followups", "followups"), ("reminders", "reminders"), ("scheduling", "scheduling"), ("travel", "travel")]
    config = agent_config_for_assistant(None)
    assert config.skill_names == {"followups", "reminders", "scheduling", "travel"}
    assert Agent.objects.get().created_by == "seed_catalog"


@pytest.mark.smoke
def test_running_the_seed_twice_changes_nothing(db):
    seed()
    before = snapshot()
    counts = json.loads(seed("--json"))
    assert all(count == {"created": 0, "unchanged": count["unchanged"]} for count in counts.values())
    assert [count["unchanged"] for count in counts.values()] == [1, 4, 4, 1]
    assert snapshot() == before


def test_seed_leaves_staff_edits_alone(db):
    seed()
    Skill.objects.filter(name="travel").update(status=Skill.Status.DISABLED, display_name="Trips")
    seed()
    travel = Skill.objects.get(name="travel")
    assert (travel.status, travel.display_name) == ("disabled", "Trips")


def test_seed_does_not_steal_the_default_from_an_existing_agent(db):
    existing = AgentFactory(is_default=True)
    seed()
    assert list(Agent.objects.filter(is_default=True)) == [existing]


def test_seed_text_output_names_the_counts(db):
    assert "skills: 4 created, 0 unchanged" in seed()


def test_seeded_templates_build_tasks_with_subtasks(alice):
    seed()
    assistant = Assistant.objects.create(account=alice.account, name="Ava", email="ava@acme.test")
    task = task_create_with_template(account=alice.account, template=TaskTemplate.objects.get(name="plan-trip"),
                                     actor_user=alice.user, assistant=assistant, context={"destination": "Oslo"})
    assert (task.title, task.type) == ("Trip to Oslo", "travel")
    assert list(task.subtasks.order_by("created_at", "id").values_list("title", flat=True)) == [
        "Find flights", "Book a hotel", "Share the itinerary"]


CONTRACT_CREATE_SKILL = {"name": "scheduling", "displayName": "Scheduling", "icon": "Calendar", "color": "#3B82F6",
                         "description": "Schedule meetings and manage calendars", "category": "productivity",
                         "status": "available"}


def test_the_contracts_create_skill_example_finds_its_category_once_the_catalog_is_seeded(ops):
    """A fresh install seeds the catalog (scripts/serve, the compose migrate step, the production steps):
    the example's category exists, and its skill name is the built-in one, so the example itself is a 409."""
    assert ops.client.post("/admin/skills", CONTRACT_CREATE_SKILL).json()["details"]["category"] == [
        "Unknown skill category 'productivity'"]
    seed()
    response = ops.client.post("/admin/skills", CONTRACT_CREATE_SKILL)
    assert response.status_code == 409 and response.json()["error_code"] == "skill_exists"
    created = ops.client.post("/admin/skills", {**CONTRACT_CREATE_SKILL, "name": "team-scheduling"})
    assert created.status_code == 201, created.json()
    assert created.json()["skill"]["category"] == "productivity"
