"""Which user a delegated token's email logs in as: the primary email, or an address a signed token
proved to be the user's (auto-provisioned, or the primary email before a make-primary)."""
from accounts.models import User
from directory.models import UserIdentifier


def _make_primary(caller, value):
    created = caller.client.post("/identifiers", {"type": "email", "value": value, "verified": True})
    assert created.status_code == 201, created.json()
    moved = caller.client.post(f"/identifiers/{created.json()['identifier']['id']}/make-primary")
    assert moved.status_code == 200, moved.json()
    return created.json()["identifier"]["id"]


def test_after_make_primary_a_token_with_the_old_address_reaches_the_same_user_and_provisions_nobody(alice):
    alice.client.post("/memories", {"title": "kept", "content": "mine"})
    _make_primary(alice, "alice.archer@acme.test")
    old_token_user = alice.client.get("/memories")  # alice.client still signs alice@acme.test
    assert [m["title"] for m in old_token_user.json()["memories"]] == ["kept"]
    assert alice.teammate("alice.archer@acme.test").client.get("/memories").json()["total"] == 1
    assert list(User.objects.filter(account=alice.account).values_list("email", flat=True)) == [
        "alice.archer@acme.test"]
    old = UserIdentifier.objects.get(value="alice@acme.test")
    assert old.user_id == alice.user.id and old.proven_by_token and not old.primary


def test_an_address_that_was_primary_keeps_logging_in_after_several_moves(alice):
    alice.client.post("/memories", {"title": "kept", "content": "mine"})
    _make_primary(alice, "second@acme.test")
    _make_primary(alice.teammate("second@acme.test"), "third@acme.test")
    for address in ("alice@acme.test", "second@acme.test", "third@acme.test"):
        assert alice.teammate(address).client.get("/memories").json()["total"] == 1, address
    assert User.objects.filter(account=alice.account).count() == 1


def test_a_client_created_verified_identifier_does_not_resolve_a_login_until_it_is_primary(alice):
    alice.client.post("/memories", {"title": "kept", "content": "mine"})
    created = alice.client.post("/identifiers", {"type": "email", "value": "alias@acme.test", "verified": True})
    assert created.status_code == 201 and not UserIdentifier.objects.get(value="alias@acme.test").proven_by_token
    stranger = alice.teammate("alias@acme.test")
    assert stranger.client.get("/memories").json()["memories"] == []
    assert stranger.user.id != alice.user.id


def test_a_verified_identifier_logs_in_once_it_is_the_primary_email(alice):
    alice.client.post("/memories", {"title": "kept", "content": "mine"})
    _make_primary(alice, "alias@acme.test")
    assert alice.teammate("alias@acme.test").client.get("/memories").json()["total"] == 1


def test_auto_provisioning_marks_the_email_identifier_proven_and_a_created_user_is_not_until_demoted(alice, manager):
    alice.client.get("/users")
    assert UserIdentifier.objects.get(value="alice@acme.test").proven_by_token
    created = manager.client.post("/users", {"email": "dana@acme.test"}).json()["user"]
    assert not UserIdentifier.objects.get(value="dana@acme.test").proven_by_token
    second = manager.client.post("/identifiers", {"type": "email", "value": "dana2@acme.test", "verified": True,
                                                  "userId": created["id"]}).json()["identifier"]
    assert manager.client.post(f"/identifiers/{second['id']}/make-primary").status_code == 200
    assert UserIdentifier.objects.get(value="dana@acme.test").proven_by_token
    assert alice.teammate("dana@acme.test").user.id == created["id"]


def test_an_unlinked_identifier_linked_by_a_first_login_is_proven(alice, manager):
    manager.client.post("/identifiers", {"type": "email", "value": "newhire@acme.test"})
    newhire = alice.teammate("newhire@acme.test")
    newhire.client.get("/users")
    identifier = UserIdentifier.objects.get(value="newhire@acme.test")
    assert identifier.user_id == newhire.user.id and identifier.primary and identifier.proven_by_token


def test_creating_a_user_with_another_users_login_alias_is_a_409(alice, manager):
    _make_primary(alice, "alice.archer@acme.test")
    response = manager.client.post("/users", {"email": "alice@acme.test"})
    assert response.status_code == 409 and response.json()["error_code"] == "user_exists"


def test_deleting_a_login_alias_stops_it_reaching_the_user(alice):
    alice.client.post("/memories", {"title": "kept", "content": "mine"})
    _make_primary(alice, "alice.archer@acme.test")
    old = UserIdentifier.objects.get(value="alice@acme.test")
    assert alice.client.get("/memories").json()["total"] == 1  # cached in this process
    assert alice.teammate("alice.archer@acme.test").client.delete(f"/identifiers/{old.id}").status_code == 200
    assert alice.client.get("/memories").json()["memories"] == []


def test_a_kelvin_sign_email_is_not_the_ascii_address(alice):
    """"\u212aim@acme.test".lower() is "kim@acme.test" in Python; normalisation folds ASCII letters only."""
    kim = alice.teammate("kim@acme.test")
    kim.client.post("/memories", {"title": "kept", "content": "kim's"})
    kelvin = alice.teammate("\u212aIM@acme.test")
    assert kelvin.client.get("/memories").json()["memories"] == []
    assert kelvin.user.id != kim.user.id and kelvin.user.email == "\u212aim@acme.test"
    assert alice.teammate("KIM@ACME.TEST").client.get("/memories").json()["total"] == 1
