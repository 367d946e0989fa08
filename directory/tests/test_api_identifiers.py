import pytest

from accounts.models import User
from directory.models import IdentifierPreferences, UserIdentifier
from directory.tests.factories import IdentifierFactory
from tskr.testing import run_together


@pytest.mark.smoke
def test_create_get_update_and_delete_an_identifier(alice):
    created = alice.client.post("/identifiers", {"type": "phone", "value": "+1 (415) 555-0789",
                                                 "label": "Mobile Phone", "verified": True})
    assert created.status_code == 201, created.json()
    identifier = created.json()["identifier"]
    assert identifier["id"].startswith("id_") and identifier["value"] == "+1 (415) 555-0789"
    assert UserIdentifier.objects.get(id=identifier["id"]).value == "+14155550789"
    assert identifier["user"] == {"id": alice.user.id, "name": "Alice Archer", "status": "active"}
    assert identifier["account"] == alice.account.id and identifier["primary"] is False
    assert identifier["platforms"] == {} and identifier["metadata"] == {}

    fetched = alice.client.get(f"/identifiers/{identifier['id']}").json()["identifier"]
    assert fetched["label"] == "Mobile Phone" and fetched["verified"] is True

    updated = alice.client.put(f"/identifiers/{identifier['id']}", {
        "label": "Work phone", "metadata": {"carrier": "x"},
        "platforms": {"google": {"accessGranted": ["calendars.read", "calendars.write"]}}}).json()["identifier"]
    assert updated["label"] == "Work phone" and updated["metadata"] == {"carrier": "x"}
    assert updated["platforms"] == {"google": {"accessGranted": ["calendars.read", "calendars.write"]}}

    removed = alice.client.delete(f"/identifiers/{identifier['id']}")
    assert removed.json()["identifier"] == {"id": identifier["id"], "message": "Identifier deleted successfully"}
    assert not UserIdentifier.objects.filter(id=identifier["id"]).exists()


def test_management_tokens_create_unlinked_identifiers_unless_a_user_is_named(manager, bob):
    unlinked = manager.client.post("/identifiers", {"type": "slack", "value": "U123"}).json()["identifier"]
    assert unlinked["user"] is None
    linked = manager.client.post("/identifiers", {"type": "slack", "value": "U456", "userId": bob.user.id})
    assert linked.json()["identifier"]["user"]["id"] == bob.user.id


def test_a_delegated_caller_may_not_create_an_unlinked_identifier(alice, manager):
    """An unlinked identifier is the account's, not the caller's: only a management token creates one."""
    response = alice.client.post("/identifiers", {"type": "teams", "value": "29:abc", "userId": None})
    assert response.status_code == 403 and response.json()["error_code"] == "identifier_not_owned"
    assert not UserIdentifier.objects.filter(value="29:abc").exists()
    assert manager.client.post("/identifiers", {"type": "teams", "value": "29:abc", "userId": None}).status_code == 201


def test_linking_to_a_user_of_another_account_is_a_404(alice, charlie):
    response = alice.client.post("/identifiers", {"type": "slack", "value": "U1", "userId": charlie.user.id})
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"
    assert not UserIdentifier.objects.filter(value="U1").exists()


def test_emails_are_lower_cased_and_duplicates_per_account_and_type_are_a_409(alice, manager, charlie):
    first = manager.client.post("/identifiers", {"type": "email", "value": "Ann@Example.COM"})
    assert first.json()["identifier"]["value"] == "ann@example.com"
    again = manager.client.post("/identifiers", {"type": "email", "value": "ann@example.com"})
    assert again.status_code == 409 and again.json()["error_code"] == "identifier_exists"
    phone = manager.client.post("/identifiers", {"type": "phone", "value": "+1 415 555 0100"})
    assert manager.client.post("/identifiers", {"type": "phone", "value": "+14155550100"}).status_code == 409
    assert manager.client.post("/identifiers", {"type": "phone", "value": "+1-415-555-0100"}).status_code == 409
    assert manager.client.post("/identifiers", {"type": "external_id", "value": "+14155550100"}).status_code == 201
    assert phone.status_code == 201
    # another account may hold the same value
    assert charlie.client.post("/identifiers", {"type": "email", "value": "ann@example.com"}).status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"type": "fax", "value": "1"}, "type"),
    ({"type": "email", "value": "not an email"}, "value"),
    ({"type": "email", "value": "   "}, "value"),
    ({"type": "slack", "value": "U1", "platforms": {"myspace": {"accessGranted": []}}}, "platforms.myspace"),
    ({"type": "slack", "value": "U1", "platforms": {"google": {"accessGranted": "calendars.read"}}},
     "platforms.google.accessGranted"),
    ({"type": "slack", "value": "U1", "platforms": {"google": ["calendars.read"]}}, "platforms.google"),
    ({"type": "slack", "value": "U1", "platforms": []}, "platforms"),
])
def test_invalid_identifiers_are_400_naming_the_field(manager, body, field):
    response = manager.client.post("/identifiers", body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error" and field in response.json()["details"]
    assert not UserIdentifier.objects.filter(account=manager.account).exists()


def test_unknown_type_error_names_the_allowed_types(manager):
    details = manager.client.post("/identifiers", {"type": "fax", "value": "1"}).json()["details"]
    assert "email, phone, slack, teams, external_id" in details["type"][0]


def test_platforms_are_merged_per_platform_and_null_removes_one(alice):
    identifier = IdentifierFactory(user=alice.user, platforms={"google": {"accessGranted": ["calendars.read"]}})
    path = f"/identifiers/{identifier.id}"
    both = alice.client.put(path, {"platforms": {"azure": {"accessGranted": ["contacts.read"]}}}).json()
    assert set(both["identifier"]["platforms"]) == {"google", "azure"}
    only_azure = alice.client.put(path, {"platforms": {"google": None}}).json()["identifier"]["platforms"]
    assert only_azure == {"azure": {"accessGranted": ["contacts.read"]}}


def test_the_contracts_phone_example_keeps_its_spelling(manager):
    response = manager.client.post("/identifiers", {"type": "phone", "value": "+1-555-0789", "label": "Mobile Phone",
                                                    "verified": True, "primary": False})
    assert response.status_code == 201, response.json()
    assert response.json()["identifier"]["value"] == "+1-555-0789"
    assert manager.client.get("/identifiers", {"type": "phone"}).json()["identifiers"][0]["value"] == "+1-555-0789"


@pytest.mark.parametrize("value", ["call me maybe", "415 555 0100", "+1 415 555 0100!!", "+1 23", "+999 123",
                                   "+1 415 555 0100 call me"])
def test_a_phone_identifier_must_be_a_phone_number(manager, value):
    response = manager.client.post("/identifiers", {"type": "phone", "value": value})
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error_code"] == "validation_error" and "country code" in body["details"]["value"][0]
    assert not UserIdentifier.objects.filter(type="phone").exists()


def test_list_is_account_wide_and_filters_by_type_and_user(alice, bob, manager, charlie):
    alice.user, bob.user, charlie.user
    IdentifierFactory(user=bob.user, value="+14155550001")
    body = manager.client.get("/identifiers").json()
    assert sorted(i["value"] for i in body["identifiers"]) == ["+14155550001", "alice@acme.test", "bob@acme.test"]
    assert body["perPage"] == 100 and body["total"] == 3
    assert [i["value"] for i in alice.client.get("/identifiers", {"type": "phone"}).json()["identifiers"]] == [
        "+14155550001"]
    by_bob = manager.client.get("/identifiers", {"userId": bob.user.id}).json()["identifiers"]
    assert sorted(i["value"] for i in by_bob) == ["+14155550001", "bob@acme.test"]
    assert manager.client.get("/identifiers", {"type": "fax"}).json()["error_code"] == "validation_error"


def test_another_accounts_identifier_is_a_404_everywhere(alice, charlie):
    identifier = IdentifierFactory(user=alice.user)
    for method, suffix in (("get", ""), ("put", ""), ("delete", ""), ("post", "/make-primary"),
                           ("get", "/preferences"), ("get", "/preferences/travel"), ("put", "/preferences/travel")):
        response = getattr(charlie.client, method)(f"/identifiers/{identifier.id}{suffix}")
        assert response.status_code == 404 and response.json()["error_code"] == "not_found", (method, suffix)
    assert UserIdentifier.objects.filter(id=identifier.id).exists()


def test_identifiers_need_a_token(anonymous):
    assert anonymous.get("/identifiers").status_code == 401
    assert anonymous.post("/identifiers", {"type": "slack", "value": "U1"}).json()["error_code"] in {
        "authentication_required", "authentication_failed"}


def test_identifier_list_query_count_does_not_grow_with_page_size(manager, django_assert_max_num_queries):
    for n in range(30):
        IdentifierFactory(user=User.objects.create(account=manager.account, email=f"u{n}@acme.test"))
    manager.client.get("/identifiers")  # warm the certificate cache
    for per_page in (5, 30):
        # COUNT(*), SELECT page joined with users
        with django_assert_max_num_queries(2):
            body = manager.client.get("/identifiers", {"perPage": per_page}).json()
            assert len(body["identifiers"]) == per_page and all(i["user"] for i in body["identifiers"])


# -- make-primary and deletion rules --------------------------------------------------------------

def _email(caller, value, **fields):
    return UserIdentifier.objects.create(account=caller.account, user=caller.user, type="email", value=value,
                                         **fields)


@pytest.mark.smoke
def test_make_primary_moves_the_users_email_and_the_primary_flags(alice):
    old = UserIdentifier.objects.get(user=alice.user, type="email")
    new = _email(alice, "alice.archer@acme.test", verified=True)
    response = alice.client.post(f"/identifiers/{new.id}/make-primary")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["user"]["email"] == "alice.archer@acme.test" and body["user"]["firstName"] == "Alice"
    assert body["identifier"]["id"] == new.id and body["identifier"]["primary"] is True
    old.refresh_from_db()
    assert old.primary is False
    assert User.objects.get(id=alice.user.id).email == "alice.archer@acme.test"


def test_primary_true_on_update_behaves_as_make_primary_and_false_on_the_primary_email_is_refused(alice):
    old = UserIdentifier.objects.get(user=alice.user, type="email")
    refused = alice.client.put(f"/identifiers/{old.id}", {"primary": False})
    assert refused.status_code == 400 and refused.json()["error_code"] == "primary_email_required"
    new = _email(alice, "a2@acme.test", verified=True)
    assert alice.client.put(f"/identifiers/{new.id}", {"primary": True}).json()["identifier"]["primary"] is True
    assert User.objects.get(id=alice.user.id).email == "a2@acme.test"
    assert UserIdentifier.objects.get(id=old.id).primary is False


def test_make_primary_needs_an_email_identifier_linked_to_a_user(alice, manager):
    phone = IdentifierFactory(user=alice.user)
    response = alice.client.post(f"/identifiers/{phone.id}/make-primary")
    assert response.status_code == 400 and response.json()["error_code"] == "identifier_not_email"
    unlinked = UserIdentifier.objects.create(account=alice.account, type="email", value="shared@acme.test")
    response = manager.client.post(f"/identifiers/{unlinked.id}/make-primary")
    assert response.status_code == 400 and response.json()["error_code"] == "identifier_not_linked"


def test_make_primary_refuses_an_email_another_user_already_has(alice, bob):
    bob.user
    clash = UserIdentifier.objects.create(account=alice.account, user=alice.user, type="email",
                                          value="other@acme.test", verified=True)
    User.objects.filter(id=bob.user.id).update(email="other@acme.test")
    response = alice.client.post(f"/identifiers/{clash.id}/make-primary")
    assert response.status_code == 409 and response.json()["error_code"] == "email_taken"
    assert User.objects.get(id=alice.user.id).email == "alice@acme.test"
    assert UserIdentifier.objects.get(user=alice.user, value="alice@acme.test").primary is True


def test_the_last_and_the_primary_email_identifier_of_a_user_cannot_be_deleted(alice):
    primary = UserIdentifier.objects.get(user=alice.user, type="email")
    response = alice.client.delete(f"/identifiers/{primary.id}")
    assert response.status_code == 409 and response.json()["error_code"] == "last_email_identifier"
    second = _email(alice, "second@acme.test")
    response = alice.client.delete(f"/identifiers/{primary.id}")
    assert response.status_code == 409 and response.json()["error_code"] == "primary_email_identifier"
    assert alice.client.delete(f"/identifiers/{second.id}").status_code == 200
    assert UserIdentifier.objects.filter(id=primary.id).exists()


def test_deleting_an_identifier_deletes_its_preferences(alice):
    phone = IdentifierFactory(user=alice.user)
    alice.client.put(f"/identifiers/{phone.id}/preferences/travel", {"preferences": {"cabinClass": "first"}})
    assert IdentifierPreferences.objects.filter(user_identifier=phone).exists()
    alice.client.delete(f"/identifiers/{phone.id}")
    assert not IdentifierPreferences.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_primary_changes_of_one_user_leave_exactly_one_primary_email(alice):
    from directory.services import identifier_make_primary, identifier_update

    first, second, third, fourth = (_email(alice, f"a{n}@acme.test", verified=True) for n in range(4))
    outcomes = run_together(lambda: identifier_make_primary(identifier=first),
                            lambda: identifier_make_primary(identifier=second),
                            lambda: identifier_update(identifier=third, primary=True),
                            lambda: identifier_update(identifier=fourth, primary=True))
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    primary, = UserIdentifier.objects.filter(user=alice.user, type="email", primary=True)
    assert User.objects.get(id=alice.user.id).email == primary.value
