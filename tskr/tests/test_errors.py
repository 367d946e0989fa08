"""Bad input never gives a 500 or an HTML page: every failure answers in the error envelope."""
import pytest
from django.test import Client


def assert_error(response, status: int, error_code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error_code"] == error_code
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.mark.smoke
def test_unknown_route_is_json_404(anonymous):
    assert_error(anonymous.get("/no/such/route"), 404, "not_found")


def test_trailing_slash_is_not_redirected_to_html(manager):
    assert_error(manager.client.get("/users/"), 404, "not_found")


def test_wrong_method_is_json_405(manager):
    assert_error(manager.client.post("/users/user_x", {}), 405, "method_not_allowed")


@pytest.mark.smoke
def test_malformed_json_is_400_invalid_json(manager):
    response = Client().post("/assistants", data="{not json", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {manager.token()}")
    assert_error(response, 400, "invalid_json")


def test_json_array_body_is_a_validation_error(manager):
    response = Client().post("/assistants", data="[1, 2]", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {manager.token()}")
    assert_error(response, 400, "validation_error")


def test_form_encoded_body_is_415(manager):
    response = Client().post("/assistants", data={"name": "x"}, HTTP_AUTHORIZATION=f"Bearer {manager.token()}")
    assert_error(response, 415, "unsupported_media_type")


def test_wrong_types_are_validation_errors_with_field_details(manager):
    body = assert_error(manager.client.post("/assistants", {"name": ["a"], "email": {"x": 1}}), 400,
                        "validation_error")
    assert set(body["details"]) == {"name", "email"}


def test_oversized_body_is_413_before_it_is_read(manager, settings):
    settings.TSKR_MAX_BODY_BYTES = 2048
    response = Client().post("/assistants", data="{" + " " * 4096 + "}", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {manager.token()}")
    assert_error(response, 413, "payload_too_large")


def test_invalid_content_length_is_400(manager):
    response = Client().generic("POST", "/assistants", data=b"{}", content_type="application/json",
                                CONTENT_LENGTH="abc", HTTP_AUTHORIZATION=f"Bearer {manager.token()}")
    assert_error(response, 400, "invalid_content_length")


@pytest.mark.urls("tskr.tests.urls_failing")
def test_an_unexpected_exception_is_a_500_in_the_envelope_without_internals(manager, caplog):
    response = manager.client.get("/crash")
    body = assert_error(response, 500, "internal_error")
    assert "boom" not in response.content.decode()
    assert body == {"error": "Internal server error", "error_code": "internal_error"}
    assert any("boom" in record.getMessage() or (record.exc_info and "boom" in str(record.exc_info[1]))
               for record in caplog.records)


def test_ids_are_prefixed_time_sortable_and_unguessable():
    from tskr.infra.ids import new_id

    ids = [new_id("task") for _ in range(200)]
    assert all(i.startswith("task_") and len(i) == 31 for i in ids)
    assert len(set(ids)) == 200
    import time

    earlier = new_id("x")
    time.sleep(0.002)
    assert new_id("x") > earlier


@pytest.mark.parametrize("payload", ['{"name": "a\\u0000b", "email": "n@x.test"}',
                                     '{"name": "\\ud83d", "email": "n@x.test"}',
                                     '{"name": "ok", "email": "n@x.test", "writingStyle": {"\\u0000": 1}}'])
def test_strings_no_database_can_store_are_refused(manager, payload):
    response = Client().post("/assistants", data=payload, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {manager.token()}")
    assert_error(response, 400, "unsupported_characters")


def test_numbers_are_not_silently_turned_into_strings(manager):
    body = assert_error(manager.client.post("/users", {"email": "n@x.test", "externalId": 42}), 400,
                        "validation_error")
    assert body["details"] == {"externalId": ["Not a valid string."]}
    nested = assert_error(manager.client.post("/assistants", {"name": 7, "email": "a@x.test"}), 400,
                          "validation_error")
    assert "name" in nested["details"]


def test_options_answers_without_introspecting_serializers(manager):
    response = manager.client.request("OPTIONS", "/users")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert "GET" in response["Allow"] and "POST" in response["Allow"]


def test_csrf_failures_on_staff_screens_answer_json(db):
    response = Client(enforce_csrf_checks=True).post("/staff/login/", {"username": "x", "password": "y"})
    assert_error(response, 403, "csrf_failed")


def test_posting_to_an_unknown_route_is_a_json_404_not_a_csrf_page(anonymous):
    assert_error(Client(enforce_csrf_checks=True).post("/identifiers/x/oauth/unknown", {}), 404, "not_found")


@pytest.mark.urls("tskr.tests.urls_failing")
def test_a_value_the_database_cannot_store_is_a_400(manager):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce varchar lengths")
    assert_error(manager.client.post("/overlong", {}), 400, "invalid_value")


def test_numbers_inside_string_lists_are_refused(alice):
    body = assert_error(alice.client.post("/memories", {"title": "t", "content": "c", "tags": ["ok", 0]}), 400,
                        "validation_error")
    assert body["details"] == {"tags.1": ["Not a valid string."]}


def test_a_null_body_is_not_taken_for_an_empty_object(alice, manager):
    chat = alice.client.post("/chats", {"assistantId": manager.client.post(
        "/assistants", {"name": "Ava", "email": "ava@x.test"}).json()["assistant"]["id"]}).json()["chat"]
    response = Client().post(f"/chats/{chat['id']}/process", data="null", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {alice.token()}")
    assert_error(response, 400, "validation_error")


def test_a_path_with_a_newline_is_a_json_404(anonymous):
    assert_error(anonymous.get("/identifiers/a%0Ab/oauth/x"), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_a_row_deleted_under_a_request_is_a_409_not_a_500(alice):
    """Another process deletes the user while this process still has it cached: the write's foreign
    key fails at commit, and the caller is told to retry."""
    from accounts.models import User

    assert alice.client.get("/memories").status_code == 200  # alice's user is cached in this process
    User.objects.filter(id=alice.user.id).delete()
    assert_error(alice.client.post("/memories", {"title": "t", "content": "c"}), 409, "concurrent_change")
