import pytest


@pytest.mark.smoke
def test_delegated_call_auto_provisions_user_and_lists_it(alice, manager):
    response = alice.client.get("/users")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert [u["email"] for u in body["users"]] == ["alice@acme.test"]
    assert body["page"] == 1 and body["perPage"] == 50 and body["total"] == 1
    assert body["users"][0]["firstName"] == "Alice"
