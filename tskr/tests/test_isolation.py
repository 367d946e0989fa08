"""Every route with an id, read from the OpenAPI document, called by everybody who must not reach it.

Nobody lists the routes here: a route added to any app appears in the schema and is walked from the
day it exists (NetBox's reusable API test cases, driven by the schema instead of a class per model).
For each route and method:
- another account gets 404 (the object is not shown to exist), whichever token kind passes the
  route's permission; an object of the platform catalog (super admin routes) gets 403 instead;
- an anonymous caller gets 401;
- a management token gets 403 `user_context_required` where the view needs a delegated token;
- a teammate gets 404 on a per-user resource (a view with `scope = "user"`: memories, contacts) and
  403 on a write to another user's identifier (`TEAMMATE_WRITE_CODES`);
and afterwards the owner still reads its object, so every id was real and nothing was changed for it.

The ids come from `BUILDERS`: the path up to its first parameter names the builder, which creates
the owner's objects and returns every path parameter a route under it may name. A route with no
builder, or naming a parameter its builder does not return, fails the suite unless `EXEMPT` lists it
with the reason.
"""
import re
from datetime import datetime, timezone as dt_timezone
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import resolve
from drf_spectacular.settings import spectacular_settings

from accounts.models import Event, EventType, Webhook, WebhookDelivery
from admin_catalog.tests.factories import AgentFactory, SkillCategoryFactory, SkillFactory, TaskTemplateFactory
from calendars_app.services import oauth_access_set
from conversations.models import ChatJob
from conversations.tests.factories import AssistantFactory, ChatFactory, MessageFactory
from directory.preferences import SKILLS
from directory.tests.factories import ContactFactory, IdentifierFactory, MemoryFactory
from tasks_app.models import Approval, Meeting
from tasks_app.tests.factories import TaskFactory
from tskr.api.permissions import IsDelegated, IsSuperAdmin
from tskr.testing import ApiClient, Caller, make_caller

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")

#: Routes the suite does not walk, each with why. Keep it short: an entry is a route nobody checks.
EXEMPT = {
    # The OAuth provider's redirect: public by design, and its only parameter is the provider's name;
    # the signed `state` names the identifier (calendars_app/tests/test_oauth.py covers a forged one).
    ("GET", "/oauth/{platform}/callback"),
}

#: Teammates read an account's identifiers but change only their own: these codes answer a write.
TEAMMATE_WRITE_CODES = {"/identifiers/": "identifier_not_owned", "/approvals/": "approval_not_owned"}


def _chat_ids(owner: Caller) -> dict[str, str]:
    chat = ChatFactory(account=owner.account, assistant=AssistantFactory(account=owner.account),
                       created_by=owner.user)
    message = MessageFactory(chat=chat, sender=owner.user)
    job = ChatJob.objects.create(account=owner.account, chat=chat, requested_by=owner.user)
    return {"chat_id": chat.id, "message_id": message.id, "job_id": job.id}


def _identifier_ids(owner: Caller) -> dict[str, str]:
    identifier = IdentifierFactory(user=owner.user)
    oauth_access_set(account=owner.account, identifier=identifier, platform="google", access_token="token")
    return {"id": identifier.id, "identifier_id": identifier.id, "platform": "google", "skillName": SKILLS[0]}


def _task_ids(owner: Caller) -> dict[str, str]:
    task = TaskFactory(account=owner.account, owner=owner.user)
    meeting = Meeting.objects.create(account=owner.account, task=task, owner=owner.user, title="Sync",
                                     start_at=datetime(2026, 12, 1, 15, tzinfo=dt_timezone.utc),
                                     end_at=datetime(2026, 12, 1, 15, 30, tzinfo=dt_timezone.utc),
                                     status=Meeting.Status.BOOKED)
    return {"id": task.id, "meeting_id": meeting.id}


def _approval_ids(owner: Caller) -> dict[str, str]:
    task = TaskFactory(account=owner.account, owner=owner.user)
    approval = Approval.objects.create(account=owner.account, task=task, owner=owner.user, kind="send_message",
                                       payload={"content": "Hi", "to": ["raj@outside.test"]}, key="isolation",
                                       expires_at=datetime(2100, 1, 1, tzinfo=dt_timezone.utc))
    return {"id": approval.id}


def _webhook_ids(owner: Caller) -> dict[str, str]:
    webhook = Webhook.objects.create(account=owner.account, url="https://receiver.test/hook", events=["*"],
                                     secret="whsec_" + "A" * 32)
    event = Event.objects.create(account=owner.account, type=EventType.WEBHOOK_TEST, data={})
    delivery = WebhookDelivery.objects.create(account=owner.account, webhook=webhook, event=event,
                                              status=WebhookDelivery.Status.FAILED)
    return {"id": webhook.id, "webhook_id": webhook.id, "delivery_id": delivery.id}


#: The path up to its first parameter -> a function creating the owner's objects and returning the
#: path parameters of the routes under it. Catalog builders take no owner: the catalog is the platform's.
BUILDERS: dict[str, Callable[[Caller], dict[str, str]]] = {
    "/users/": lambda owner: {"id": owner.user.id},
    "/assistants/": lambda owner: {"id": AssistantFactory(account=owner.account).id},
    "/chats/": _chat_ids,
    "/tasks/": _task_ids,
    "/memories/": lambda owner: {"id": MemoryFactory(user=owner.user).id},
    "/contacts/": lambda owner: {"id": ContactFactory(user=owner.user).id},
    "/identifiers/": _identifier_ids,
    "/webhooks/": _webhook_ids,
    "/approvals/": _approval_ids,
    "/admin/skill-categories/": lambda owner: {"id": SkillCategoryFactory().id},
    "/admin/skills/": lambda owner: {"id": SkillFactory().id},
    "/admin/task-templates/": lambda owner: {"id": TaskTemplateFactory().id},
    "/admin/agents/": lambda owner: {"id": AgentFactory().id},
}

#: A value of the right shape for each parameter name, to resolve a route to its view at collection.
_SAMPLE = {"platform": "google"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def prefix(self) -> str:
        return self.path.split("{", 1)[0]

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)

    def url(self, values: dict[str, str]) -> str:
        return re.sub(r"\{([^}]+)\}", lambda match: values[match.group(1)], self.path)

    @property
    def view_class(self):
        return resolve(self.url({name: _SAMPLE.get(name, "x") for name in self.parameters})).func.cls

    def permission(self, kind) -> bool:
        return any(issubclass(permission, kind) for permission in self.view_class.permission_classes)

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


def _schema() -> dict:
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    return generator.get_schema(request=None, public=True)


def _routes() -> list[Route]:
    return [Route(method.upper(), path) for path, operations in _schema()["paths"].items() if "{" in path
            for method in operations if method in METHODS]


ROUTES = [route for route in _routes() if (route.method, route.path) not in EXEMPT]
DELEGATED = [route for route in ROUTES if route.permission(IsDelegated)]
PER_USER = [route for route in ROUTES if getattr(route.view_class, "scope", None) == "user"]
TEAMMATE_WRITES = [route for route in ROUTES if route.is_write and route.prefix in TEAMMATE_WRITE_CODES]


@pytest.fixture
def super_admin(db) -> Caller:
    return make_caller("Skej", "sam@skej.com", staff=True)


def route_owner(route: Route, alice: Caller, super_admin: Caller) -> Caller:
    return super_admin if route.permission(IsSuperAdmin) else alice


def build_route_objects(route: Route, owner: Caller) -> dict[str, str]:
    builder = BUILDERS.get(route.prefix)
    assert builder is not None, (
        f"{route}: no builder in BUILDERS for {route.prefix!r}; add one (or an EXEMPT entry saying why)")
    values = builder(owner)
    missing = [name for name in route.parameters if name not in values]
    assert not missing, f"{route}: the {route.prefix!r} builder returns no {missing}"
    return values


def _call(client: ApiClient, route: Route, url: str):
    return client.request(route.method, url, None if route.method == "GET" else {})


def _assert_error(response, status: int, error_code: str | None = None) -> None:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) >= {"error", "error_code"}, body
    if error_code:
        assert body["error_code"] == error_code, body


def _assert_owner_still_reads(route: Route, owner: Caller, url: str) -> None:
    """The id was real and untouched: the owner's GET of the same route still finds it."""
    if route.method == "GET":
        response = owner.client.get(url)
        assert response.status_code == 200, response.json()


def test_the_suite_walks_the_document_served_at_openapi_json():
    served = Client().get("/openapi.json").json()["paths"]
    assert {(route.method, route.path) for route in _routes()} == {
        (method.upper(), path) for path, operations in served.items() if "{" in path
        for method in operations if method in METHODS}
    assert len(ROUTES) > 50 and DELEGATED and PER_USER and TEAMMATE_WRITES


def test_every_exemption_is_still_a_route():
    routes = {(route.method, route.path) for route in _routes()}
    assert EXEMPT <= routes, EXEMPT - routes


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_another_account_gets_404(route, alice, charlie, super_admin):
    owner = route_owner(route, alice, super_admin)
    url = route.url(build_route_objects(route, owner))
    if route.permission(IsSuperAdmin):  # the platform's catalog: nobody else's to hide, only to refuse
        _assert_error(_call(charlie.client, route, url), 403, "super_admin_required")
    else:
        # Whichever token kind the route's permission lets through must find nothing; the other kind
        # is refused before any lookup, for a reason that says nothing about the object.
        answers = [_call(caller.client, route, url) for caller in (charlie, charlie.management())]
        for response in answers:
            if response.status_code != 404:
                _assert_error(response, 403)
                assert response.json()["error_code"] in {"user_context_required", "management_token_required"}
        assert any(response.status_code == 404 for response in answers), [r.json() for r in answers]
        for response in answers:
            if response.status_code == 404:
                _assert_error(response, 404)
    _assert_owner_still_reads(route, owner, url)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_an_anonymous_caller_gets_401(route, alice, super_admin, anonymous):
    owner = route_owner(route, alice, super_admin)
    url = route.url(build_route_objects(route, owner))
    _assert_error(_call(anonymous, route, url), 401)
    _assert_owner_still_reads(route, owner, url)


@pytest.mark.parametrize("route", DELEGATED, ids=str)
def test_a_management_token_gets_403_on_a_delegated_route(route, alice, manager):
    url = route.url(build_route_objects(route, alice))
    _assert_error(_call(manager.client, route, url), 403, "user_context_required")
    _assert_owner_still_reads(route, alice, url)


@pytest.mark.parametrize("route", PER_USER, ids=str)
def test_a_teammate_gets_404_on_a_per_user_resource(route, alice, bob):
    url = route.url(build_route_objects(route, alice))
    _assert_error(_call(bob.client, route, url), 404)
    _assert_owner_still_reads(route, alice, url)


@pytest.mark.parametrize("route", TEAMMATE_WRITES, ids=str)
def test_a_teammate_gets_403_writing_what_another_user_owns(route, alice, bob):
    url = route.url(build_route_objects(route, alice))
    _assert_error(_call(bob.client, route, url), 403, TEAMMATE_WRITE_CODES[route.prefix])
