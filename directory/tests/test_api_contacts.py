import pytest

from directory.models import Contact
from directory.tests.factories import ContactFactory


@pytest.mark.smoke
def test_create_get_update_and_delete_a_contact(alice):
    created = alice.client.post("/contacts", {
        "name": "Jane Smith", "email": "Jane@Example.com", "phone": "+1-555-0456", "company": "Tech Co",
        "title": "Product Manager", "tags": ["partner"], "timezone": "Europe/Paris",
        "emails": ["jane.smith@techco.test", "JANE@example.com"], "notes": "Met at the fair"})
    assert created.status_code == 201, created.json()
    contact = created.json()["contact"]
    assert contact["id"].startswith("contact_") and contact["email"] == "jane@example.com"
    assert contact["emails"] == ["jane.smith@techco.test"]  # the primary address is not repeated
    assert contact["phone"] == "+1-555-0456" and contact["timezone"] == "Europe/Paris"
    assert contact["linkedUserId"] is None

    fetched = alice.client.get(f"/contacts/{contact['id']}").json()["contact"]
    assert fetched["notes"] == "Met at the fair" and fetched["metadata"] == {}

    updated = alice.client.put(f"/contacts/{contact['id']}", {"title": "Senior PM", "tags": ["partner", "vip"]})
    assert updated.json()["contact"]["title"] == "Senior PM" and updated.json()["contact"]["name"] == "Jane Smith"

    removed = alice.client.delete(f"/contacts/{contact['id']}")
    assert removed.json()["contact"] == {"id": contact["id"], "message": "Contact deleted successfully"}
    assert not Contact.objects.filter(id=contact["id"]).exists()


def test_contact_validation_errors_name_the_fields(alice):
    body = alice.client.post("/contacts", {"email": "not-an-email", "timezone": "Mars/Base"}).json()
    assert body["error_code"] == "validation_error"
    assert set(body["details"]) == {"name", "email", "timezone"}


def test_a_second_contact_with_the_same_email_is_a_409(alice):
    ContactFactory(user=alice.user, email="jane@example.com")
    response = alice.client.post("/contacts", {"name": "Jane", "email": "JANE@example.com"})
    assert response.status_code == 409 and response.json()["error_code"] == "contact_exists"


@pytest.mark.parametrize("body", [{"email": "jane@home.test"}, {"email": "new@x.test", "emails": ["Jane@Home.test"]},
                                  {"email": "jane@work.test"}, {"emails": ["jane@work.test"]}])
def test_a_contact_holding_another_contacts_address_is_a_409(alice, body):
    ContactFactory(user=alice.user, email="jane@home.test", emails=["jane@work.test"])
    response = alice.client.post("/contacts", {"name": "Jane", **body})
    assert response.status_code == 409 and response.json()["error_code"] == "contact_exists"
    assert "jane@" in response.json()["error"]
    other = ContactFactory(user=alice.user, email="other@x.test")
    changed = alice.client.put(f"/contacts/{other.id}", body)
    assert changed.status_code == 409 and changed.json()["error_code"] == "contact_exists"
    assert alice.client.put(f"/contacts/{other.id}", {"emails": ["other@x.test", "o@x.test"]}).status_code == 200


def test_a_contact_with_a_registered_users_email_is_linked_to_them(alice, bob):
    bob_user = bob.user
    contact = alice.client.post("/contacts", {"name": "Bob", "email": "BOB@acme.test"}).json()["contact"]
    assert contact["linkedUserId"] == bob_user.id
    changed = alice.client.put(f"/contacts/{contact['id']}", {"email": "bob@elsewhere.test"}).json()["contact"]
    assert changed["linkedUserId"] is None


def test_list_filters_by_search_tags_and_company(alice):
    ContactFactory(user=alice.user, name="John Doe", email="john@acme.com", company="Acme Corp",
                   tags=["client", "engineering"])
    ContactFactory(user=alice.user, name="Jane Roe", email="jane@techco.test", company="TechCo", tags=["client"])
    ContactFactory(user=alice.user, name="Zed", email="zed@else.test", company="ACME CORP")

    def names(**params):
        response = alice.client.get("/contacts", params)
        assert response.status_code == 200, response.json()
        return sorted(c["name"] for c in response.json()["contacts"])

    assert names(search="acme") == ["John Doe", "Zed"]  # company or email
    assert names(search="ROE") == ["Jane Roe"]
    assert names(search="techco.test") == ["Jane Roe"]
    assert names(tags="client") == ["Jane Roe", "John Doe"]
    assert names(tags="client,engineering") == ["John Doe"]
    assert names(company="acme corp") == ["John Doe", "Zed"]


def test_contacts_are_private_to_their_user(alice, bob, charlie):
    contact = ContactFactory(user=alice.user)
    assert bob.client.get("/contacts").json()["contacts"] == []
    for caller in (bob, charlie):
        for method in ("get", "put", "delete"):
            response = getattr(caller.client, method)(f"/contacts/{contact.id}")
            assert response.status_code == 404 and response.json()["error_code"] == "not_found"


def test_contacts_need_a_delegated_token(manager, anonymous):
    assert manager.client.get("/contacts").json()["error_code"] == "user_context_required"
    assert manager.client.post("/contacts/bulk-import", {"contacts": []}).status_code == 403
    assert anonymous.get("/contacts").status_code == 401
    assert anonymous.post("/contacts/bulk-import", {"contacts": []}).status_code == 401


def test_contact_list_query_count_does_not_grow_with_page_size(alice, django_assert_max_num_queries):
    for _ in range(30):
        ContactFactory(user=alice.user, tags=["t"])
    alice.client.get("/contacts")  # warm the certificate cache
    for per_page in (5, 30):
        # the caller's user, COUNT(*), SELECT page
        with django_assert_max_num_queries(3):
            body = alice.client.get("/contacts", {"perPage": per_page, "tags": "t", "search": "contact"}).json()
            assert len(body["contacts"]) == per_page


# -- bulk import ------------------------------------------------------------------------------

@pytest.mark.smoke
def test_bulk_import_creates_updates_skips_and_reports_errors(alice, bob):
    bob_user = bob.user
    existing = ContactFactory(user=alice.user, name="Old John", email="john@example.com", company="Old Co")
    by_additional = ContactFactory(user=alice.user, name="Kim", email="kim@home.test", emails=["kim@work.test"])
    response = alice.client.post("/contacts/bulk-import", {"contacts": [
        {"email": "JOHN@example.com", "name": "John Doe", "company": "Acme Corp", "timezone": "America/New_York",
         "emails": ["john@example.com", "john.doe@acme.com"]},
        {"email": "jane@example.com", "name": "Jane Smith", "company": "Tech Co"},
        {"email": "Jane@Example.com", "name": "Jane again"},
        {"email": "invalid", "name": "Nobody"},
        {"name": "No email"},
        {"email": "kim@WORK.test", "title": "CTO"},
        {"email": "bob@acme.test"},
        {"email": "tz@example.com", "timezone": "Nowhere/Land"},
    ]})
    assert response.status_code == 200, response.json()
    result = response.json()["contacts"]
    assert (result["total"], result["created"], result["updated"], result["skipped"]) == (8, 2, 2, 1)
    assert result["errors"] == [
        {"index": 3, "email": "invalid", "error": "Enter a valid email address."},
        {"index": 4, "email": None, "error": "Email is required"},
        {"index": 7, "email": "tz@example.com", "error": "timezone: 'Nowhere/Land' is not an IANA time zone name"},
    ]
    existing.refresh_from_db()
    assert (existing.name, existing.company, existing.timezone) == ("John Doe", "Acme Corp", "America/New_York")
    assert existing.emails == ["john.doe@acme.com"]
    by_additional.refresh_from_db()
    assert by_additional.title == "CTO" and by_additional.name == "Kim"
    jane = Contact.objects.get(user=alice.user, email="jane@example.com")
    assert jane.name == "Jane Smith" and jane.company == "Tech Co"
    bob_contact = Contact.objects.get(user=alice.user, email="bob@acme.test")
    assert bob_contact.name == "bob@acme.test" and bob_contact.linked_user_id == bob_user.id
    assert Contact.objects.filter(user=alice.user).count() == 4


def test_bulk_import_of_more_than_1000_contacts_is_refused_and_writes_nothing(alice):
    rows = [{"email": f"c{n}@example.com"} for n in range(1001)]
    response = alice.client.post("/contacts/bulk-import", {"contacts": rows})
    assert response.status_code == 400 and response.json()["error_code"] == "too_many_contacts"
    assert not Contact.objects.exists()


def test_bulk_import_needs_a_contacts_list(alice):
    response = alice.client.post("/contacts/bulk-import", {"contacts": {"email": "a@b.test"}})
    assert response.status_code == 400 and response.json()["details"].keys() == {"contacts"}


def test_bulk_import_does_not_touch_a_teammates_contacts(alice, bob):
    theirs = ContactFactory(user=bob.user, email="shared@example.com", name="Bob's view")
    result = alice.client.post("/contacts/bulk-import", {"contacts": [{"email": "shared@example.com",
                                                                       "name": "Alice's view"}]}).json()
    assert result["contacts"]["created"] == 1 and result["contacts"]["updated"] == 0
    theirs.refresh_from_db()
    assert theirs.name == "Bob's view"
