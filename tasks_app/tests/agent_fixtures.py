"""Shared set-up of the scheduling agent's tests: an assistant, a chat, calendars on the fake providers,
the agent's step run inline, and helpers to talk to the chat as an email gateway would."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import Event
from accounts.services import assistant_create
from calendars_app.tests.conftest import connect, sync
from conversations.engine.scheduling import read_when
from conversations.models import Message
from conversations.tests.factories import ChatFactory
from directory.models import UserIdentifier
from directory.services import preferences_set

LONDON, KOLKATA, ADELAIDE = ZoneInfo("Europe/London"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Adelaide")


@pytest.fixture(autouse=True)
def agent_inline():
    """The first step runs in the request's process, as on the embedded default (also on the Redis run)."""
    from tskr.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def ava(alice):
    return assistant_create(account=alice.account, name="Ava", email="ava@acme.test", signature="Ava\nAcme")


@pytest.fixture
def inbox(ava):
    return ChatFactory(assistant=ava)


def identifier_of(caller) -> UserIdentifier:
    return UserIdentifier.objects.get(account=caller.account, user=caller.user, type="email")


def set_supervision(caller, mode: str) -> None:
    preferences_set(identifier=identifier_of(caller), skill="scheduling", values={"defaults": {"supervision": mode}})


@pytest.fixture
def alice_calendar(alice, providers):
    """Alice, in London, unsupervised, with a writable Google calendar synced from the fake."""
    alice.user.timezone = "Europe/London"
    alice.user.save()
    identifier = identifier_of(alice)
    identifier.platforms = {"google": {"accessGranted": ["calendars.read", "calendars.write"]}}
    identifier.save()
    providers.google_calendar("alice@acme.test", "Alice", primary=True, time_zone="Europe/London")
    connect(providers, identifier, "google")
    sync(identifier)
    set_supervision(alice, "unsupervised")
    return providers


def resync(caller) -> None:
    sync(identifier_of(caller))


@pytest.fixture
def bob_calendar(bob, providers):
    """Bob, in Kolkata (+05:30), with an Outlook calendar synced from the fake."""
    bob.user.timezone = "Asia/Kolkata"
    bob.user.save()
    identifier = identifier_of(bob)
    identifier.platforms = {"azure": {"accessGranted": ["calendars.read", "calendars.write"]}}
    identifier.save()
    providers.graph_calendar("AAMk-bob", "Calendar", default=True, owner="bob@acme.test")
    connect(providers, identifier, "azure")
    return providers


def email(caller, chat, content, *, sender, to=("ava@acme.test",), cc=(), subject="Catch-up"):
    response = caller.client.post(f"/chats/{chat.id}/messages", {"content": content, "platform": "email", "metadata": {
        "from": sender, "to": list(to), "cc": list(cc), "subject": subject}})
    assert response.status_code == 201, response.json()
    return response.json()["message"]


def process(caller, chat, django_capture_on_commit_callbacks, status=200):
    """Process the chat and run what it queued after commit (the first step, inline)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = caller.client.post(f"/chats/{chat.id}/process")
    assert response.status_code == status, response.json()
    return response.json()


def outbound(chat) -> list[Message]:
    return list(Message.objects.filter(chat=chat, role=Message.Role.ASSISTANT).order_by("timestamp", "id"))


def event_types(caller) -> list[str]:
    return list(Event.objects.filter(account=caller.account).order_by("created_at", "id").values_list("type", flat=True))


def reading(text: str, zone: ZoneInfo) -> datetime:
    """The instant `text` names, read as the agent reads it now."""
    return read_when(text, zone=zone, now=timezone.now()).at(zone)


def iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")

