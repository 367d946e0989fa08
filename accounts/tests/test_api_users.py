
import pytest

from accounts.models import User
from accounts.services import user_get_or_provision
from directory.models import UserIdentifier
from tskr.testing import ApiClient, run_together


@pytest.mark.smoke
def test_delegated_call_auto_provisions_user_and_lists_it(alice):
    response = alice.client.get("/users")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert [u["email"] for u in body["users"]] == ["alice@acme.test"]
    assert body["page"] == 1 and body["perPage"] == 50 and body["total"] == 1
    user = body["users"][0]
    assert user["firstName"] == "Alice" and user["lastName"] == "Archer" and user["status"] == "active"
    assert user["id"].startswith("user_") and user["createdAt"].endswith("Z")


def test_auto_provisioning_creates_a_primary_verified_email_identifier(alice):
    alice.client.get("/users")
    identifier = UserIdentifier.objects.get(account=alice.account, type="email", value="alice@acme.test")
    assert identifier.user.email == "alice@acme.test"
    assert identifier.primary and identifier.verified


def test_emails_are_matched_case_insensitively(alice):
    upper = alice.teammate("ALICE@Acme.TEST")
    assert upper.client.get("/users").json()["total"] == 1
    alice.client.get("/users")
    assert User.objects.filter(account=alice.account).count() == 1


def test_management_token_does_not_provision_a_user(manager):
    assert manager.client.get("/users").json()["total"] == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_calls_create_exactly_one_user(alice):
    """Eight threads race the first delegated call for the same new email."""
    newcomer = alice.teammate("newcomer@acme.test", first_name="New")
    clients = [ApiClient(newcomer.token()) for _ in range(8)]
    statuses = [response.status_code for response in run_together(*(lambda c=c: c.get("/users") for c in clients))]
    assert statuses == [200] * 8
    assert User.objects.filter(account=alice.account, email="newcomer@acme.test").count() == 1
    assert UserIdentifier.objects.filter(account=alice.account, value="newcomer@acme.test").count() == 1


def test_list_filters_by_status_email_and_external_id(alice, bob, manager):
    bob_user = bob.user
    alice.user.external_id = "ext-a"
    alice.user.save()
    User.objects.filter(id=bob_user.id).update(status="inactive")
    client = manager.client
    assert [u["email"] for u in client.get("/users", {"status": "inactive"}).json()["users"]] == ["bob@acme.test"]
    assert [u["email"] for u in client.get("/users", {"email": "ALICE@acme.test"}).json()["users"]] == [
        "alice@acme.test"]
    assert client.get("/users", {"email": "nobody@acme.test"}).json()["users"] == []
    assert [u["email"] for u in client.get("/users", {"externalId": "ext-a"}).json()["users"]] == ["alice@acme.test"]


def test_unknown_status_filter_value_is_a_400(manager):
    response = manager.client.get("/users", {"status": "sleeping"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert "status" in response.json()["details"]


def test_users_pagination_defaults_and_caps(manager):
    for n in range(3):
        user_get_or_provision(account=manager.account, email=f"u{n}@acme.test")
    body = manager.client.get("/users", {"perPage": 2, "page": 2}).json()
    assert (body["page"], body["perPage"], body["total"], len(body["users"])) == (2, 2, 3, 1)
    assert manager.client.get("/users", {"perPage": 1000}).json()["perPage"] == 100
    assert manager.client.get("/users", {"page": 99}).json()["users"] == []


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"perPage": "-1"}, {"perPage": "1.5"}])
def test_invalid_pagination_is_a_400(manager, params):
    response = manager.client.get("/users", params)
    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_pagination"


def test_user_list_query_count_does_not_grow_with_page_size(manager, django_assert_max_num_queries):
    for n in range(30):
        user_get_or_provision(account=manager.account, email=f"bulk{n}@acme.test")
    manager.client.get("/users")  # warm the certificate cache
    for per_page in (5, 30):
        # certificate last-used touch is throttled; expected: COUNT(*), SELECT page
        with django_assert_max_num_queries(2):
            assert len(manager.client.get("/users", {"perPage": per_page}).json()["users"]) == per_page


def test_create_user_ahead_of_first_login(manager):
    response = manager.client.post("/users", {"email": "Dana@Acme.test", "firstName": "Dana", "externalId": "d-1",
                                              "timezone": "Europe/London"})
    assert response.status_code == 201, response.json()
    user = response.json()["user"]
    assert user["email"] == "dana@acme.test" and user["externalId"] == "d-1" and user["timezone"] == "Europe/London"
    assert UserIdentifier.objects.filter(user_id=user["id"], type="email", primary=True).exists()
    dana = manager.teammate("dana@acme.test")
    assert dana.client.get("/users").json()["total"] == 1  # first login reuses the pre-created user


def test_create_user_with_duplicate_email_is_409(manager, alice):
    alice.user
    response = manager.client.post("/users", {"email": "ALICE@acme.test"})
    assert response.status_code == 409
    assert response.json()["error_code"] == "user_exists"


def test_create_user_validates_input(manager):
    response = manager.client.post("/users", {"email": "nope", "timezone": "Mars/Base"})
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"email", "timezone"}


def test_update_user(manager, alice):
    response = manager.client.put(f"/users/{alice.user.id}", {"firstName": "Jane", "lastName": "Smith",
                                                              "avatar": "https://example.com/a.jpg",
                                                              "timezone": "Europe/London", "externalId": "x-9"})
    assert response.status_code == 200
    body = response.json()["user"]
    assert (body["firstName"], body["lastName"], body["externalId"], body["email"]) == (
        "Jane", "Smith", "x-9", "alice@acme.test")


def test_external_id_clash_is_409_and_nothing_changes(manager, alice, bob):
    manager.client.put(f"/users/{alice.user.id}", {"externalId": "shared"})
    response = manager.client.put(f"/users/{bob.user.id}", {"externalId": "shared", "firstName": "Changed"})
    assert response.status_code == 409
    assert response.json()["error_code"] == "external_id_conflict"
    bob.user.refresh_from_db()
    assert bob.user.first_name == "Bob" and bob.user.external_id is None


def test_external_id_may_repeat_across_accounts(manager, alice, charlie):
    manager.client.put(f"/users/{alice.user.id}", {"externalId": "same"})
    response = charlie.management().client.put(f"/users/{charlie.user.id}", {"externalId": "same"})
    assert response.status_code == 200


def test_delete_user(manager, alice):
    user_id = alice.user.id
    response = manager.client.delete(f"/users/{user_id}")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "user": {"id": user_id, "message": "User deleted successfully"}}
    assert not User.objects.filter(id=user_id).exists()
    assert manager.client.get(f"/users/{user_id}").status_code == 404


def test_another_accounts_user_is_404_everywhere(charlie, alice):
    outsider, outside_manager = charlie.client, charlie.management().client
    user_id = alice.user.id
    for response in (outsider.get(f"/users/{user_id}"), outside_manager.put(f"/users/{user_id}", {"firstName": "x"}),
                     outside_manager.delete(f"/users/{user_id}")):
        assert response.status_code == 404
        assert response.json()["error_code"] == "not_found"
    assert User.objects.get(id=user_id).first_name == "Alice"
    assert [u["email"] for u in outsider.get("/users").json()["users"]] == ["charlie@globex.test"]


def test_an_identifier_created_by_a_teammate_does_not_capture_a_new_users_first_login(alice):
    """Alice links newhire@ to herself; the new hire's first token must still get its own user."""
    created = alice.client.post("/identifiers", {"type": "email", "value": "newhire@acme.test", "verified": True})
    assert created.status_code == 201, created.json()
    alice.client.post("/memories", {"title": "private", "content": "alice only"})
    newhire = alice.teammate("newhire@acme.test")
    assert newhire.client.get("/memories").json()["memories"] == []
    assert newhire.user.id != alice.user.id
