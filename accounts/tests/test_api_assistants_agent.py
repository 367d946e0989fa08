"""Assistants' optional `agentId` (management API): which catalog agent drives the assistant."""
import pytest

from accounts.models import Assistant
from admin_catalog.models import Agent
from admin_catalog.tests.factories import AgentFactory


@pytest.fixture
def agent(db):
    return AgentFactory(name="Travel desk")


@pytest.mark.smoke
def test_create_with_an_agent_and_read_it_back(manager, agent):
    response = manager.client.post("/assistants", {"name": "Ava", "email": "ava@acme.test", "agentId": agent.id})
    assert response.status_code == 201 and response.json()["assistant"]["agentId"] == agent.id
    assistant_id = response.json()["assistant"]["id"]
    assert manager.client.get(f"/assistants/{assistant_id}").json()["assistant"]["agentId"] == agent.id
    assert Assistant.objects.get(id=assistant_id).agent == agent


def test_assistant_without_agent_shows_null(manager):
    response = manager.client.post("/assistants", {"name": "Ava", "email": "ava@acme.test"})
    assert response.json()["assistant"]["agentId"] is None


def test_update_sets_changes_and_clears_the_agent(manager, agent):
    assistant = Assistant.objects.create(account=manager.account, name="Ava", email="ava@acme.test")
    other = AgentFactory()
    assert manager.client.put(f"/assistants/{assistant.id}", {"agentId": agent.id}).json()["assistant"][
        "agentId"] == agent.id
    assert manager.client.put(f"/assistants/{assistant.id}", {"agentId": other.id}).json()["assistant"][
        "agentId"] == other.id
    renamed = manager.client.put(f"/assistants/{assistant.id}", {"name": "Ava 2"}).json()["assistant"]
    assert renamed["agentId"] == other.id
    assert manager.client.put(f"/assistants/{assistant.id}", {"agentId": None}).json()["assistant"]["agentId"] is None


def test_unknown_agent_answers_400_and_changes_nothing(manager, agent):
    assistant = Assistant.objects.create(account=manager.account, name="Ava", email="ava@acme.test", agent=agent)
    response = manager.client.put(f"/assistants/{assistant.id}", {"agentId": "agent_nope", "name": "Changed"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "unknown_agent" and "agentId" in response.json()["details"]
    assistant.refresh_from_db()
    assert assistant.agent == agent and assistant.name == "Ava"
    created = manager.client.post("/assistants", {"name": "B", "email": "b@acme.test", "agentId": "agent_nope"})
    assert created.json()["error_code"] == "unknown_agent"
    assert not Assistant.objects.filter(email="b@acme.test").exists()


def test_inactive_agent_cannot_be_assigned(manager):
    inactive = AgentFactory(status=Agent.Status.INACTIVE)
    response = manager.client.post("/assistants", {"name": "Ava", "email": "ava@acme.test", "agentId": inactive.id})
    assert response.status_code == 400 and response.json()["error_code"] == "agent_inactive"


def test_any_account_may_use_a_platform_agent(charlie, manager, agent):
    """Agents are platform-wide: two accounts can point their assistants at the same one."""
    for caller, email in ((manager, "ava@acme.test"), (charlie.management(), "gus@globex.test")):
        response = caller.client.post("/assistants", {"name": "A", "email": email, "agentId": agent.id})
        assert response.status_code == 201
    assert agent.assistants.count() == 2


def test_another_accounts_assistant_still_answers_404(charlie, manager, agent):
    assistant = Assistant.objects.create(account=manager.account, name="Ava", email="ava@acme.test")
    response = charlie.management().client.put(f"/assistants/{assistant.id}", {"agentId": agent.id})
    assert response.status_code == 404
    assistant.refresh_from_db()
    assert assistant.agent is None


def test_unauthenticated_update_answers_401(anonymous, manager, agent):
    assistant = Assistant.objects.create(account=manager.account, name="Ava", email="ava@acme.test")
    assert anonymous.put(f"/assistants/{assistant.id}", {"agentId": agent.id}).status_code == 401
