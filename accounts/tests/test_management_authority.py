"""Management API writes act for the account and need a management token; reads take either kind."""
import pytest

from accounts.models import Assistant, User


@pytest.fixture
def assistant(alice):
    return Assistant.objects.create(account=alice.account, name="Ava", email="ava@acme.test")


def assert_management_required(response):
    assert response.status_code == 403, response.json()
    assert response.json()["error_code"] == "management_token_required"


def test_a_delegated_token_cannot_create_change_or_delete_users(alice, bob):
    assert_management_required(alice.client.post("/users", {"email": "new@acme.test"}))
    assert_management_required(alice.client.put(f"/users/{bob.user.id}", {"status": "inactive"}))
    assert_management_required(alice.client.patch(f"/users/{bob.user.id}", {"firstName": "x"}))
    assert_management_required(alice.client.delete(f"/users/{bob.user.id}"))
    assert_management_required(alice.client.put(f"/users/{alice.user.id}", {"firstName": "Me"}))
    bob_now = User.objects.get(id=bob.user.id)
    assert bob_now.status == "active" and bob_now.first_name == "Bob"
    assert not User.objects.filter(email="new@acme.test").exists()
    assert bob.client.get("/memories").status_code == 200


def test_a_delegated_token_cannot_create_change_or_delete_assistants(alice, assistant):
    assert_management_required(alice.client.post("/assistants", {"name": "Eve", "email": "eve@acme.test"}))
    assert_management_required(alice.client.put(f"/assistants/{assistant.id}", {"name": "pwned"}))
    assert_management_required(alice.client.delete(f"/assistants/{assistant.id}"))
    assert Assistant.objects.get(id=assistant.id).name == "Ava"
    assert Assistant.objects.filter(account=alice.account).count() == 1


def test_reads_accept_both_token_kinds(alice, bob, manager, assistant):
    for caller in (alice, manager):
        assert caller.client.get("/users").status_code == 200
        assert caller.client.get(f"/users/{bob.user.id}").status_code == 200
        assert caller.client.get("/assistants").status_code == 200
        assert caller.client.get(f"/assistants/{assistant.id}").status_code == 200


def test_a_management_token_writes_users_and_assistants(manager, bob, assistant):
    assert manager.client.post("/users", {"email": "new@acme.test"}).status_code == 201
    assert manager.client.put(f"/users/{bob.user.id}", {"status": "inactive"}).status_code == 200
    assert manager.client.put(f"/assistants/{assistant.id}", {"name": "Ava 2"}).status_code == 200
    assert manager.client.delete(f"/assistants/{assistant.id}").status_code == 200
    assert manager.client.delete(f"/users/{bob.user.id}").status_code == 200
