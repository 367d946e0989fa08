"""End to end: the agent chosen in the catalog decides which tasks the (local) engine may create from a chat."""
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Assistant
from admin_catalog.models import Agent
from conversations.tests.factories import ChatFactory
from tasks_app.models import Task

TRAVEL_REQUEST = "Please book me a flight to Lisbon next Monday at 9am"


@pytest.fixture
def seeded(db):
    call_command("seed_catalog", stdout=StringIO())


def assistant_with(manager, agent_id):
    response = manager.client.post("/assistants", {"name": "Tess", "email": "tess@acme.test", "agentId": agent_id})
    assert response.status_code == 201, response.json()
    return response.json()["assistant"]["id"]


def ask(alice, assistant_id, text):
    chat = ChatFactory(assistant=Assistant.objects.get(id=assistant_id))
    assert alice.client.post(f"/chats/{chat.id}/messages", {"content": text, "platform": "chat"}).status_code == 201
    response = alice.client.post(f"/chats/{chat.id}/process")
    assert response.status_code == 200, response.json()
    return response.json()


def test_agent_without_travel_makes_the_engine_refuse_travel_tasks(ops, alice, manager, seeded):
    agent = ops.client.post("/admin/agents", {"name": "Desk", "skills": ["scheduling", "reminders", "followups"]})
    assistant_id = assistant_with(manager, agent.json()["agent"]["id"])
    body = ask(alice, assistant_id, TRAVEL_REQUEST)
    assert body["taskIds"] == [] and "can't help with travel" in body["message"]["content"]
    assert not Task.objects.filter(type="travel").exists()


def test_seeded_default_agent_lets_the_engine_create_travel_tasks(alice, manager, seeded):
    assistant_id = assistant_with(manager, None)
    body = ask(alice, assistant_id, TRAVEL_REQUEST)
    assert len(body["taskIds"]) == 1 and Task.objects.get(id=body["taskIds"][0]).type == "travel"


def test_disabling_the_travel_skill_in_the_catalog_stops_travel_tasks(ops, alice, manager, seeded):
    skills = ops.client.get("/admin/skills", {"category": "productivity"}).json()["skills"]
    travel_id = next(skill["id"] for skill in skills if skill["name"] == "travel")
    assert ops.client.put(f"/admin/skills/{travel_id}", {"status": "disabled"}).status_code == 200
    assistant_id = assistant_with(manager, Agent.objects.get(is_default=True).id)
    assert ask(alice, assistant_id, TRAVEL_REQUEST)["taskIds"] == []
    assert not Task.objects.exists()
