"""Who may change which identifier: a delegated token acts as its own user, a management token for the
account. Reads stay account-wide."""
from accounts.models import User
from directory.models import IdentifierPreferences, UserIdentifier
from directory.tests.factories import IdentifierFactory


def _email(caller, value, **fields):
    return UserIdentifier.objects.create(account=caller.account, user=caller.user, type="email", value=value,
                                         **fields)


def assert_not_owned(response):
    assert response.status_code == 403, response.json()
    assert response.json()["error_code"] == "identifier_not_owned"


def test_the_reported_takeover_is_refused_and_the_victim_keeps_their_login_and_data(alice, bob):
    """The issue's reproduction: Alice frees her old address, then tries to make it Bob's primary email."""
    bob.client.post("/memories", {"title": "bob's secret", "content": "only bob"})
    second = alice.client.post("/identifiers", {"type": "email", "value": "alice.new@acme.test", "verified": True})
    assert second.status_code == 201, second.json()
    assert alice.client.post(f"/identifiers/{second.json()['identifier']['id']}/make-primary").status_code == 200
    old = UserIdentifier.objects.get(user=alice.user, value="alice@acme.test")
    assert alice.teammate("alice.new@acme.test").client.delete(f"/identifiers/{old.id}").status_code == 200

    response = alice.teammate("alice.new@acme.test").client.post("/identifiers", {
        "type": "email", "value": "alice@acme.test", "userId": bob.user.id, "primary": True})
    assert_not_owned(response)
    assert User.objects.get(id=bob.user.id).email == "bob@acme.test"
    assert not UserIdentifier.objects.filter(value="alice@acme.test").exists()
    # a token for the freed address is somebody new, who sees nothing of Bob's; Bob's token is still Bob
    assert alice.client.get("/memories").json()["memories"] == []
    assert [m["title"] for m in bob.client.get("/memories").json()["memories"]] == ["bob's secret"]
    assert User.objects.get(account=alice.account, email="bob@acme.test").id == bob.user.id


def test_a_delegated_token_may_not_change_a_teammates_identifiers(alice, bob):
    bob_email = UserIdentifier.objects.get(user=bob.user, type="email")
    bob_second = _email(bob, "bob2@acme.test", verified=True)
    bob_phone = IdentifierFactory(user=bob.user)
    for response in (
        alice.client.put(f"/identifiers/{bob_phone.id}", {"label": "pwned"}),
        alice.client.put(f"/identifiers/{bob_second.id}", {"primary": True}),
        alice.client.delete(f"/identifiers/{bob_phone.id}"),
        alice.client.post(f"/identifiers/{bob_second.id}/make-primary"),
        alice.client.put(f"/identifiers/{bob_email.id}/preferences/travel", {"preferences": {"cabinClass": "first"}}),
    ):
        assert_not_owned(response)
    bob_phone.refresh_from_db()
    assert bob_phone.label == "" and User.objects.get(id=bob.user.id).email == "bob@acme.test"
    assert not IdentifierPreferences.objects.exists()
    # reads stay account-wide
    assert alice.client.get(f"/identifiers/{bob_phone.id}").status_code == 200
    assert alice.client.get(f"/identifiers/{bob_email.id}/preferences/travel").status_code == 200
    assert alice.client.get(f"/identifiers/{bob_email.id}/preferences").status_code == 200


def test_a_delegated_token_may_not_change_an_unlinked_identifier(alice, manager):
    unlinked = UserIdentifier.objects.create(account=alice.account, type="slack", value="U9")
    assert_not_owned(alice.client.put(f"/identifiers/{unlinked.id}", {"label": "mine"}))
    assert_not_owned(alice.client.delete(f"/identifiers/{unlinked.id}"))
    assert manager.client.put(f"/identifiers/{unlinked.id}", {"label": "ours"}).status_code == 200


def test_a_management_token_acts_for_the_whole_account(manager, bob):
    phone = IdentifierFactory(user=bob.user)
    second = _email(bob, "bob2@acme.test", verified=True)
    assert manager.client.put(f"/identifiers/{phone.id}", {"label": "Work"}).status_code == 200
    assert manager.client.put(f"/identifiers/{phone.id}/preferences/travel",
                              {"preferences": {"cabinClass": "first"}}).status_code == 200
    assert manager.client.post(f"/identifiers/{second.id}/make-primary").status_code == 200
    assert manager.client.delete(f"/identifiers/{phone.id}").status_code == 200
    created = manager.client.post("/identifiers", {"type": "slack", "value": "U7", "userId": bob.user.id})
    assert created.status_code == 201 and created.json()["identifier"]["user"]["id"] == bob.user.id


def test_user_id_on_create_is_accepted_only_when_it_is_the_callers_own(alice, bob):
    assert_not_owned(alice.client.post("/identifiers", {"type": "slack", "value": "U1", "userId": bob.user.id}))
    assert not UserIdentifier.objects.filter(value="U1").exists()
    own = alice.client.post("/identifiers", {"type": "slack", "value": "U1", "userId": alice.user.id})
    assert own.status_code == 201 and own.json()["identifier"]["user"]["id"] == alice.user.id
