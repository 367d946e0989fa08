"""Bounded input: nesting, free-form object sizes, attachment URLs and counts, and writes that lose a deadlock."""
import json

import pytest
from django.test import Client

from conversations.tests.factories import AssistantFactory, ChatFactory, MessageFactory
from tskr.jsonlimits import MAX_JSON_DEPTH

from .test_errors import assert_error


def nested(levels: int) -> dict:
    """A JSON object `levels` levels deep: {"a": {"a": ... {}}}."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.fixture
def chat(alice):
    return ChatFactory(assistant=AssistantFactory(account=alice.account), account=alice.account)


@pytest.mark.parametrize("levels", [1000, 5000])
def test_a_body_nested_past_the_decoders_depth_is_400_invalid_json(alice, levels):
    body = '{"title": ' + "[" * levels + "]" * levels + "}"
    response = Client().post("/memories", data=body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {alice.token()}")
    assert_error(response, 400, "invalid_json")


def test_metadata_nested_deeper_than_the_limit_is_a_validation_error(alice, chat):
    accepted = alice.client.patch(f"/chats/{chat.id}", {"metadata": {"deep": nested(MAX_JSON_DEPTH - 1)}})
    assert accepted.status_code == 200, accepted.json()
    body = assert_error(alice.client.patch(f"/chats/{chat.id}", {"metadata": {"deep": nested(MAX_JSON_DEPTH)}}),
                        400, "validation_error")
    assert body["details"] == {"metadata": [f"Nested deeper than {MAX_JSON_DEPTH} levels"]}


def test_metadata_nested_hundreds_of_levels_is_a_validation_error_not_a_500(alice):
    body = assert_error(alice.client.post("/memories", {"title": "t", "content": "c", "metadata": nested(300)}),
                        400, "validation_error")
    assert list(body["details"]) == ["metadata"]


OVERSIZED = {"blob": "x" * (16 * 1024)}


@pytest.mark.parametrize("resource", ["chat", "message", "task", "memory", "contact", "identifier"])
def test_oversized_metadata_is_refused_on_every_resource_that_has_metadata(alice, chat, resource):
    path, body = {
        "chat": ("/chats", {"assistantId": chat.assistant_id}),
        "message": (f"/chats/{chat.id}/messages", {"content": "Hi"}),
        "task": ("/tasks", {"title": "T"}),
        "memory": ("/memories", {"title": "t", "content": "c"}),
        "contact": ("/contacts", {"name": "Ann"}),
        "identifier": ("/identifiers", {"type": "email", "value": "ann@acme.test"}),
    }[resource]
    error = assert_error(alice.client.post(path, {**body, "metadata": OVERSIZED}), 400, "validation_error")
    assert error["details"]["metadata"][0].startswith("Larger than 16384 bytes")
    assert alice.client.post(path, {**body, "metadata": {"blob": "x" * 1000}}).status_code == 201


def test_the_metadata_cap_is_configurable(alice, chat, settings):
    settings.TSKR_MAX_METADATA_BYTES = 1024
    assert_error(alice.client.patch(f"/chats/{chat.id}", {"metadata": {"blob": "x" * 1100}}), 400,
                 "validation_error")
    assert alice.client.patch(f"/chats/{chat.id}", {"metadata": {"blob": "x" * 900}}).status_code == 200


def test_merged_metadata_cannot_grow_past_the_cap_a_piece_at_a_time(alice, chat):
    message = MessageFactory(chat=chat)
    for index in range(2):
        piece = {f"part{index}": "x" * 6000}
        assert alice.client.patch(f"/chats/{chat.id}", {"metadata": piece}).status_code == 200
        assert alice.client.put(f"/chats/{chat.id}/messages/{message.id}", {"metadata": piece}).status_code == 200
    piece = {"part2": "x" * 6000}
    assert_error(alice.client.patch(f"/chats/{chat.id}", {"metadata": piece}), 400, "validation_error")
    assert_error(alice.client.put(f"/chats/{chat.id}/messages/{message.id}", {"metadata": piece}), 400,
                 "validation_error")
    chat.refresh_from_db()
    assert set(chat.metadata) == {"part0", "part1"}


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x.test/a.png",
                                 "//x.test/a.png", "not a url"])
def test_file_urls_must_be_http_or_https(alice, chat, url):
    body = assert_error(alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "files": [{"url": url}]}),
                        400, "validation_error")
    assert list(body["details"]) == ["files.0.url"]
    task = alice.client.post("/tasks", {"title": "T"}).json()["task"]
    body = assert_error(alice.client.post(f"/tasks/{task['id']}/activities",
                                          {"content": "c", "files": [{"url": url}]}), 400, "validation_error")
    assert list(body["details"]) == ["files.0.url"]


def test_message_files_are_objects_with_a_url_and_at_most_fifty(alice, chat):
    kept = {"url": "https://x.test/a.png", "name": "a.png", "size": 10}
    response = alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "files": [kept]})
    assert response.status_code == 201 and response.json()["message"]["files"] == [kept]
    assert list(assert_error(alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "files": ["x"]}),
                             400, "validation_error")["details"]) == ["files.0"]
    assert list(assert_error(alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "files": [{}]}),
                             400, "validation_error")["details"]) == ["files.0.url"]
    too_many = [{"url": f"https://x.test/{index}.png"} for index in range(51)]
    assert_error(alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "files": too_many}), 400,
                 "validation_error")


# -- writes that lose a deadlock -----------------------------------------------------------------------
@pytest.fixture
def deadlocks(transactional_db):
    from django.db import connection

    from .urls_failing import DeadlockingViewSet

    if connection.vendor != "postgresql":
        pytest.skip("raises a PostgreSQL SQLSTATE")
    DeadlockingViewSet.runs.clear()
    return DeadlockingViewSet.runs


@pytest.mark.urls("tskr.tests.urls_failing")
def test_a_write_that_lost_a_deadlock_is_run_again(deadlocks, manager):
    response = manager.client.post("/deadlock?losses=2", {})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["runs"] == 3


@pytest.mark.urls("tskr.tests.urls_failing")
def test_a_write_that_keeps_losing_deadlocks_is_409_concurrent_change_not_503(deadlocks, manager):
    assert_error(manager.client.post("/deadlock", {}), 409, "concurrent_change")
    assert deadlocks == ["POST"] * 3


@pytest.mark.urls("tskr.tests.urls_failing")
def test_a_read_is_not_run_again_and_a_deadlock_there_is_409_too(deadlocks, manager):
    assert_error(manager.client.get("/deadlock"), 409, "concurrent_change")
    assert deadlocks == ["GET"]


def test_the_contract_body_of_a_deep_but_valid_json_document_still_parses(alice):
    """Deep nesting is refused where it is stored, not by the parser: 100 levels in a string field is
    that field's validation error."""
    body = json.dumps({"title": nested(100), "content": "c"})
    response = Client().post("/memories", data=body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {alice.token()}")
    assert list(assert_error(response, 400, "validation_error")["details"]) == ["title"]


def test_the_schema_describes_the_limits(db):
    schema = Client().get("/openapi.json").json()
    components = schema["components"]["schemas"]
    files = components["MessageCreateRequest"]["properties"]["files"]
    assert files["maxItems"] == 50 and files["items"]["properties"]["url"]["pattern"] == "^https?://"
    assert components["FileRequest"]["properties"]["url"]["pattern"] == "^https?://"
    assert "32 levels" in components["ChatCreateRequest"]["properties"]["metadata"]["description"]
    conflict = schema["paths"]["/chats"]["post"]["responses"]["409"]["description"]
    assert "concurrent_change" in conflict and "deadlock" in conflict
    assert schema["paths"]["/chats"]["get"]["responses"]["200"]["headers"]["Cache-Control"]
