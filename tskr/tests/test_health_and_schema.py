import pytest
from django.test import Client


@pytest.mark.smoke
def test_health_reports_each_dependency(db):
    response = Client().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["status"] == "healthy"
    assert set(body["checks"]) == {"database", "cache", "broker", "ai", "webhooks", "schedule"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_health_names_a_broken_ai_engine(db, settings):
    settings.TSKR_AI_ENGINE = "anthropic"
    settings.ANTHROPIC_API_KEY = ""
    response = Client().get("/health")
    assert response.status_code == 503
    assert response.json()["error_code"] == "dependency_unavailable"
    assert response.json()["checks"]["ai"]["status"] == "down"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_document_is_served_as_json(schema):
    assert schema["openapi"].startswith("3.")
    assert "/users" in schema["paths"] and "/assistants/{id}" in schema["paths"]


def test_openapi_describes_the_envelopes(schema):
    components = schema["components"]["schemas"]
    listed = schema["paths"]["/users"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    paginated = components[listed["$ref"].split("/")[-1]]
    assert set(paginated["required"]) >= {"ok", "users", "page", "perPage", "total"}
    single = schema["paths"]["/users/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert single["required"] == ["ok", "user"]
    deleted = schema["paths"]["/assistants/{id}"]["delete"]["responses"]["200"]["content"]["application/json"]
    assert set(components[deleted["schema"]["$ref"].split("/")[-1]]["properties"]) == {"ok", "message"}
    user_delete = schema["paths"]["/users/{id}"]["delete"]["responses"]["200"]["content"]["application/json"]
    assert user_delete["schema"]["required"] == ["ok", "user"]


def test_openapi_documents_error_responses_and_rate_limit_headers(schema):
    operation = schema["paths"]["/users"]["get"]
    for code in ("400", "401", "403", "404", "429", "503"):
        assert operation["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"error", "error_code"}
    assert "X-RateLimit-Remaining" in operation["responses"]["200"]["headers"]


def test_interactive_docs_are_served(db):
    response = Client().get("/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_schema_generation_has_no_warnings(db, tmp_path):
    """Every view documents its request and response: drf-spectacular would warn otherwise."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


def test_an_explicit_delete_body_is_documented_as_declared(schema):
    cleared = schema["paths"]["/chats/{chat_id}/messages"]["delete"]["responses"]["200"]["content"]
    component = cleared["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(schema["components"]["schemas"][component]["properties"]) == {"ok", "messages"}
