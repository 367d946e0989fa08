"""Agents (contract: "Agents API (Admin)"). Outsider personas: see test_api_permissions."""
import pytest

from accounts.models import Assistant
from admin_catalog.models import Agent

from .concurrency import race
from .factories import AgentFactory, SkillFactory

BODY = {"name": "Concierge", "description": "Front desk", "model": "claude-sonnet", "systemPrompt": "Be kind.",
        "temperature": 0.7, "maxTokens": 4096, "skills": ["scheduling", "reminders"], "status": "active"}


@pytest.fixture
def skills(db):
    return {name: SkillFactory(name=name) for name in ("scheduling", "reminders", "travel")}


@pytest.mark.smoke
def test_create_answers_the_agent_with_its_skills(ops, skills):
    response = ops.client.post("/admin/agents", BODY)
    assert response.status_code == 201
    agent = response.json()["agent"]
    assert agent["id"].startswith("agent_")
    assert (agent["model"], agent["systemPrompt"], agent["temperature"], agent["maxTokens"]) == (
        "claude-sonnet", "Be kind.", 0.7, 4096)
    assert agent["skills"] == ["reminders", "scheduling"]
    assert set(agent["skillIds"]) == {skills["scheduling"].id, skills["reminders"].id}
    assert (agent["isDefault"], agent["createdBy"]) == (False, "ops@skej.com")


def test_skills_may_be_given_by_id(ops, skills):
    agent = ops.client.post("/admin/agents", {"name": "A", "skills": [skills["travel"].id]}).json()["agent"]
    assert agent["skills"] == ["travel"]


def test_unknown_skill_answers_validation_error(ops, skills):
    response = ops.client.post("/admin/agents", {**BODY, "skills": ["scheduling", "teleportation"]})
    assert response.status_code == 400
    assert response.json()["details"] == {"skills.1": ["Unknown skill 'teleportation'"]}


@pytest.mark.parametrize(("field", "value"), [("temperature", 3), ("temperature", -0.1), ("maxTokens", 0),
                                              ("status", "paused"), ("name", "")])
def test_invalid_fields_answer_validation_error(ops, skills, field, value):
    response = ops.client.post("/admin/agents", {**BODY, field: value})
    assert response.status_code == 400 and list(response.json()["details"]) == [field]


def test_create_with_a_taken_name_answers_409(ops, skills):
    AgentFactory(name="Concierge")
    response = ops.client.post("/admin/agents", BODY)
    assert response.status_code == 409 and response.json()["error_code"] == "agent_exists"


@pytest.mark.smoke
def test_making_an_agent_default_takes_the_flag_from_the_previous_one(ops):
    previous = AgentFactory(is_default=True)
    agent = AgentFactory()
    response = ops.client.put(f"/admin/agents/{agent.id}", {"isDefault": True})
    assert response.status_code == 200 and response.json()["agent"]["isDefault"] is True
    previous.refresh_from_db()
    assert not previous.is_default and previous.updated_by == "ops@skej.com"
    assert list(Agent.objects.filter(is_default=True)) == [agent]


def test_creating_a_default_agent_takes_the_flag_too(ops, skills):
    previous = AgentFactory(is_default=True)
    created = ops.client.post("/admin/agents", {**BODY, "isDefault": True}).json()["agent"]
    assert list(Agent.objects.filter(is_default=True).values_list("id", flat=True)) == [created["id"]]
    assert ops.client.get(f"/admin/agents/{previous.id}").json()["agent"]["isDefault"] is False


def test_the_default_agent_must_stay_active(ops, skills):
    default = AgentFactory(is_default=True)
    response = ops.client.put(f"/admin/agents/{default.id}", {"status": "inactive"})
    assert response.status_code == 400 and response.json()["error_code"] == "default_agent_inactive"
    created = ops.client.post("/admin/agents", {**BODY, "isDefault": True, "status": "inactive"})
    assert created.json()["error_code"] == "default_agent_inactive"
    default.refresh_from_db()
    assert default.is_default and default.status == "active"


def test_update_replaces_the_skill_set_only_when_given(ops, skills):
    agent = AgentFactory(skills=[skills["scheduling"], skills["travel"]])
    renamed = ops.client.put(f"/admin/agents/{agent.id}", {"name": "Renamed"}).json()["agent"]
    assert renamed["skills"] == ["scheduling", "travel"]
    replaced = ops.client.put(f"/admin/agents/{agent.id}", {"skills": ["reminders"]}).json()["agent"]
    assert replaced["skills"] == ["reminders"]
    emptied = ops.client.put(f"/admin/agents/{agent.id}", {"skills": []}).json()["agent"]
    assert emptied["skills"] == []


def test_get_and_filtered_list(ops):
    default = AgentFactory(name="Default", is_default=True)
    AgentFactory(name="Retired", status=Agent.Status.INACTIVE)
    client = ops.client
    assert client.get(f"/admin/agents/{default.id}").json()["agent"]["name"] == "Default"
    assert [a["name"] for a in client.get("/admin/agents", {"isDefault": "true"}).json()["agents"]] == ["Default"]
    assert [a["name"] for a in client.get("/admin/agents", {"status": "inactive"}).json()["agents"]] == ["Retired"]


def test_list_query_count_does_not_grow_with_page_size(ops, skills, django_assert_max_num_queries):
    for _ in range(6):
        AgentFactory(skills=list(skills.values()))
    client = ops.client
    client.get("/admin/agents")  # first call provisions the user and touches the certificate
    # auth: certificate, user (2); count; page of agents; their skills (one prefetch)
    for per_page in (2, 6):
        with django_assert_max_num_queries(5):
            agents = client.get("/admin/agents", {"perPage": per_page}).json()["agents"]
            assert len(agents) == per_page and all(len(a["skills"]) == 3 for a in agents)


def test_delete_detaches_assistants(ops, alice):
    agent = AgentFactory()
    assistant = Assistant.objects.create(account=alice.account, name="Ava", email="ava@acme.test", agent=agent)
    response = ops.client.delete(f"/admin/agents/{agent.id}")
    assert response.json()["agent"] == {"id": agent.id, "message": "Agent deleted successfully"}
    assistant.refresh_from_db()
    assert assistant.agent_id is None


def test_delete_the_default_agent_answers_409(ops):
    default = AgentFactory(is_default=True)
    response = ops.client.delete(f"/admin/agents/{default.id}")
    assert response.status_code == 409 and response.json()["error_code"] == "agent_is_default"
    assert Agent.objects.filter(id=default.id).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_default_claims_leave_exactly_one_default(ops):
    """Four agents race to become the default; every request succeeds and one default remains."""
    AgentFactory(is_default=True)
    agents = [AgentFactory() for _ in range(4)]
    statuses = race(ops, [("PUT", f"/admin/agents/{agent.id}", {"isDefault": True}) for agent in agents])
    assert statuses == [200] * 4
    assert Agent.objects.filter(is_default=True).count() == 1


def test_agent_skills_are_resolved_in_one_query_whatever_their_number(db, django_assert_max_num_queries):
    """Names and ids mixed; one SELECT resolves them all (not one per skill)."""
    from admin_catalog.api.serializers import AgentUpdateSerializer
    from admin_catalog.models import Skill

    skills = [Skill.objects.create(name=f"skill-{n}", display_name=f"Skill {n}") for n in range(30)]
    keys = [skill.name if n % 2 else skill.id for n, skill in enumerate(skills)]
    with django_assert_max_num_queries(1):
        data = AgentUpdateSerializer.validated({"skills": keys})
    assert [skill.id for skill in data["skills"]] == [skill.id for skill in skills]
    with django_assert_max_num_queries(1):
        response = AgentUpdateSerializer(data={"skills": ["skill-1", "nope"]})
        assert not response.is_valid()
    assert "skills" in response.errors
