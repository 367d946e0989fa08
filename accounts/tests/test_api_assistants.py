import pytest

from accounts.models import Assistant

PAYLOAD = {"name": "AI Assistant", "email": "Assistant@Example.com", "personality": "Professional and helpful",
           "signature": "Best regards,\nAI Assistant", "writingStyle": {"professionalism": 8, "humor": 3, "emojiUse": 2}}


@pytest.mark.smoke
def test_create_get_list_assistant(manager):
    response = manager.client.post("/assistants", PAYLOAD)
    assert response.status_code == 201, response.json()
    created = response.json()["assistant"]
    assert created["id"].startswith("asst_") and created["email"] == "assistant@example.com"
    assert created["status"] == "active" and created["writingStyle"] == PAYLOAD["writingStyle"]
    assert manager.client.get(f"/assistants/{created['id']}").json()["assistant"]["name"] == "AI Assistant"
    listed = manager.client.get("/assistants").json()
    assert listed == {"ok": True, "assistants": [manager.client.get(f"/assistants/{created['id']}").json()["assistant"]]}


def test_list_filters_by_email(manager):
    manager.client.post("/assistants", PAYLOAD)
    manager.client.post("/assistants", {**PAYLOAD, "email": "other@example.com"})
    found = manager.client.get("/assistants", {"email": "ASSISTANT@example.com"}).json()["assistants"]
    assert [a["email"] for a in found] == ["assistant@example.com"]


def test_duplicate_email_is_409(manager):
    manager.client.post("/assistants", PAYLOAD)
    response = manager.client.post("/assistants", {**PAYLOAD, "email": "assistant@EXAMPLE.com"})
    assert response.status_code == 409
    assert response.json()["error_code"] == "assistant_email_taken"


def test_same_email_is_allowed_in_another_account(manager, charlie):
    manager.client.post("/assistants", PAYLOAD)
    assert charlie.management().client.post("/assistants", PAYLOAD).status_code == 201


@pytest.mark.parametrize("style, field", [({"humor": 11}, "writingStyle.humor"),
                                          ({"humor": "lots"}, "writingStyle.humor"),
                                          ({"sarcasm": 2}, "writingStyle.sarcasm")])
def test_writing_style_is_validated(manager, style, field):
    response = manager.client.post("/assistants", {**PAYLOAD, "writingStyle": style})
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert field in response.json()["details"]


def test_missing_required_fields_are_named(manager):
    response = manager.client.post("/assistants", {})
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"name", "email"}


def test_update_merges_writing_style_and_checks_email(manager):
    first = manager.client.post("/assistants", PAYLOAD).json()["assistant"]
    manager.client.post("/assistants", {**PAYLOAD, "email": "taken@example.com"})
    response = manager.client.put(f"/assistants/{first['id']}", {"name": "Renamed", "status": "inactive",
                                                                "writingStyle": {"professionalism": 9, "humor": 2}})
    assert response.status_code == 200
    body = response.json()["assistant"]
    assert body["name"] == "Renamed" and body["status"] == "inactive"
    assert body["writingStyle"] == {"professionalism": 9, "humor": 2, "emojiUse": 2}
    clash = manager.client.put(f"/assistants/{first['id']}", {"email": "TAKEN@example.com"})
    assert clash.status_code == 409
    assert Assistant.objects.get(id=first["id"]).email == "assistant@example.com"


def test_unknown_status_is_a_400_naming_the_choices(manager):
    assistant = manager.client.post("/assistants", PAYLOAD).json()["assistant"]
    response = manager.client.put(f"/assistants/{assistant['id']}", {"status": "sleeping"})
    assert response.status_code == 400
    assert "status" in response.json()["details"]


def test_delete_answers_the_contracts_top_level_message(manager):
    assistant = manager.client.post("/assistants", PAYLOAD).json()["assistant"]
    response = manager.client.delete(f"/assistants/{assistant['id']}")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "message": "Assistant deleted successfully"}
    assert manager.client.get(f"/assistants/{assistant['id']}").status_code == 404


def test_another_accounts_assistant_is_404(manager, charlie):
    assistant = manager.client.post("/assistants", PAYLOAD).json()["assistant"]
    outsider = charlie.management().client
    for response in (charlie.client.get(f"/assistants/{assistant['id']}"),
                     outsider.put(f"/assistants/{assistant['id']}", {"name": "pwned"}),
                     outsider.delete(f"/assistants/{assistant['id']}")):
        assert response.status_code == 404
    assert charlie.client.get("/assistants").json()["assistants"] == []
    assert Assistant.objects.get(id=assistant["id"]).name == "AI Assistant"


def test_assistant_list_query_count_does_not_grow(manager, django_assert_max_num_queries):
    for n in range(25):
        manager.client.post("/assistants", {**PAYLOAD, "email": f"a{n}@example.com"})
    manager.client.get("/assistants")
    for email_filter in ({}, {"email": "a3@example.com"}):
        # expected: SELECT assistants (the certificate is cached, the last-used touch throttled)
        with django_assert_max_num_queries(1):
            manager.client.get("/assistants", email_filter)
