import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from accounts.services import user_delete
from directory import services
from directory.models import Contact, IdentifierPreferences, Memory, UserIdentifier
from directory.tests.factories import ContactFactory, IdentifierFactory, MemoryFactory
from tskr.exceptions import NotFound, ValidationFailed
from tskr.testing import ApiClient, run_together

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                     reason="bulk statements and triggers are PostgreSQL behaviour")


def _rows(n: int, prefix: str) -> list[dict]:
    return [{"email": f"{prefix}{i}@example.com", "name": f"Person {i}", "company": "Acme",
             "emails": [f"{prefix}{i}@work.test"]} for i in range(n)]


@postgresql_only
def test_bulk_import_runs_the_same_number_of_queries_for_10_and_1000_contacts(alice, bob):
    counts = {}
    for n, prefix in ((10, "small"), (1000, "large")):
        # half of each batch updates existing contacts (one matched through an additional email)
        for i in range(0, n - 2, 2):
            ContactFactory(user=alice.user, email=f"{prefix}{i}@example.com" if i else f"old-{prefix}@x.test",
                           emails=[] if i else [f"{prefix}0@example.com"])
        # an address of a registered user, so the linking queries have something to find
        UserIdentifier.objects.create(account=alice.account, user=bob.user, type="email", value=f"bob-{prefix}@x.test")
        rows = _rows(n - 2, prefix) + [{"email": f"bob-{prefix}@x.test"}, {"email": "broken"}]
        with CaptureQueriesContext(connection) as queries:
            result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=rows)
        assert (result.total, result.created, result.updated, len(result.errors)) == (n, n // 2, n // 2 - 1, 1)
        counts[n] = len(queries)
        assert Contact.objects.get(email=f"bob-{prefix}@x.test").linked_user_id == bob.user.id
    assert counts[10] == counts[1000], counts
    # savepoint, contacts lock, existing contacts, identifiers, users, savepoint, INSERT, UPDATE, release x2,
    # the contacts.imported event
    assert counts[10] <= 11


@postgresql_only
def test_the_raw_bulk_insert_writes_every_column_of_contact(alice):
    """The PostgreSQL import writes contacts with hand-written SQL (elsewhere bulk_create writes every
    field): a column added to Contact must be added there too, or a NOT NULL one fails every import."""
    with CaptureQueriesContext(connection) as captured:
        services.contacts_bulk_import(account=alice.account, user=alice.user, rows=_rows(2, "col"))
    table = Contact._meta.db_table
    insert, = [query["sql"] for query in captured.captured_queries if query["sql"].startswith(f"INSERT INTO {table} ")]
    written = {name.strip().strip('"') for name in insert.split("(", 1)[1].split(")", 1)[0].split(",")}
    assert written == {field.column for field in Contact._meta.concrete_fields}


def test_bulk_import_of_1000_contacts_creates_and_updates_in_bulk(alice):
    ContactFactory.create_batch(3, user=alice.user)  # unrelated contacts stay as they are
    for i in range(0, 1000, 2):
        ContactFactory(user=alice.user, email=f"p{i}@example.com", name="Before")
    result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=_rows(1000, "p"))
    assert (result.created, result.updated, result.skipped, result.errors) == (500, 500, 0, [])
    assert Contact.objects.filter(user=alice.user).count() == 1003
    assert not Contact.objects.filter(name="Before").exists()
    assert Contact.objects.get(email="p998@example.com").emails == ["p998@work.test"]


@postgresql_only
def test_bulk_import_writes_nothing_when_the_database_fails_midway(alice):
    kept = ContactFactory(user=alice.user, email="kept@example.com", name="Before")
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse_boom BEFORE UPDATE ON directory_contact FOR EACH ROW EXECUTE FUNCTION refuse_boom();
        """)
    rows = [{"email": "new1@example.com"}, {"email": "kept@example.com", "name": "boom"}, {"email": "new2@example.com"}]
    with pytest.raises(DatabaseError):
        services.contacts_bulk_import(account=alice.account, user=alice.user, rows=rows)
    assert list(Contact.objects.values_list("email", "name")) == [("kept@example.com", "Before")]
    kept.refresh_from_db()
    assert kept.name == "Before"


def test_bulk_import_result_accounts_for_every_row(alice):
    rows = [{"email": "a@example.com"}, {"email": "A@example.com"}, "not an object", {"email": "b@example.com",
                                                                                    "emails": "nope"}]
    result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=rows)
    assert (result.total, result.created, result.skipped) == (4, 1, 1)
    assert [error["index"] for error in result.errors] == [2, 3]
    assert result.errors[0]["email"] is None and result.errors[1]["error"].startswith("emails:")


def test_bulk_import_skips_a_second_row_reaching_an_already_updated_contact(alice):
    ContactFactory(user=alice.user, email="main@example.com", emails=["alias@example.com"], name="Main")
    result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=[
        {"email": "main@example.com", "title": "CEO"}, {"email": "alias@example.com", "title": "Intern"}])
    assert (result.updated, result.skipped, result.created) == (1, 1, 0)
    assert Contact.objects.get(email="main@example.com").title == "CEO"


def _addresses_of(user) -> list[str]:
    """Every address of the user's contacts, primary and additional, repeats included."""
    return [address for email, emails in Contact.objects.filter(user=user).values_list("email", "emails")
            for address in [email, *emails] if address]


@pytest.mark.parametrize("rows", [
    [{"email": "ann@home.test", "name": "Ann", "emails": ["ann@work.test"]}, {"email": "ann@work.test"}],
    [{"email": "ann@work.test"}, {"email": "ann@home.test", "name": "Ann", "emails": ["ann@work.test"]}],
    [{"email": "ann@home.test", "emails": ["ann@work.test"]}, {"email": "ann@mobile.test", "emails": ["ann@work.test"]}],
], ids=["email-of-a-later-item", "email-of-an-earlier-item", "shared-additional-email"])
def test_bulk_import_merges_items_sharing_an_address_into_one_contact(alice, rows):
    result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=rows)
    assert (result.created, result.updated, result.skipped) == (1, 0, 1)
    contact, = Contact.objects.filter(user=alice.user)
    assert contact.email == rows[0]["email"]
    assert sorted(_addresses_of(alice.user)) == sorted({a for row in rows for a in [row["email"], *row.get("emails", [])]})


def test_bulk_import_merges_an_item_with_the_contact_holding_one_of_its_additional_emails(alice):
    work = ContactFactory(user=alice.user, email="ann@work.test", name="Ann (work)")
    alias = ContactFactory(user=alice.user, email="bo@home.test", emails=["bo@alias.test"], name="Bo")
    result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=[
        {"email": "ann@home.test", "title": "CEO", "emails": ["ann@work.test"]},
        {"email": "bo@new.test", "emails": ["BO@alias.test"]}])
    assert (result.created, result.updated, result.skipped) == (0, 2, 0)
    work.refresh_from_db()
    assert (work.email, work.emails, work.title, work.name) == ("ann@work.test", ["ann@home.test"], "CEO", "Ann (work)")
    alias.refresh_from_db()
    assert alias.emails == ["bo@alias.test", "bo@new.test"]
    assert Contact.objects.filter(user=alice.user).count() == 2


def test_bulk_import_leaves_an_address_with_the_contact_already_holding_it(alice):
    """An item bridging two existing contacts updates the one its email reaches; the other keeps its address."""
    ann, other = (ContactFactory(user=alice.user, email=email) for email in ("ann@home.test", "ann@work.test"))
    result = services.contacts_bulk_import(account=alice.account, user=alice.user, rows=[
        {"email": "ann@home.test", "emails": ["ann@work.test", "ann@mobile.test"]}])
    assert (result.created, result.updated) == (0, 1)
    ann.refresh_from_db()
    other.refresh_from_db()
    assert (ann.emails, other.email, other.emails) == (["ann@mobile.test"], "ann@work.test", [])
    assert len(_addresses_of(alice.user)) == len(set(_addresses_of(alice.user))) == 3


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_bulk_imports_neither_deadlock_nor_conflict(alice):
    """Each import waits for the previous one (the user's contacts lock) and then updates what it created."""
    for i in range(0, 200, 2):
        ContactFactory(user=alice.user, email=f"p{i}@example.com")
    alice.client.get("/contacts")  # provisions the user before the race
    rows = _rows(200, "p") + [{"email": f"x{i}@example.com", "emails": [f"p{i}@work.test"]} for i in range(20)]
    clients = [ApiClient(alice.token()) for _ in range(6)]
    responses = run_together(*(lambda c=c: c.post("/contacts/bulk-import", {"contacts": rows}) for c in clients))
    assert [response.status_code for response in responses] == [200] * 6, [r.json() for r in responses]
    assert sorted(r.json()["contacts"]["created"] for r in responses) == [0] * 5 + [100]
    assert Contact.objects.filter(user=alice.user).count() == 200
    assert len(_addresses_of(alice.user)) == len(set(_addresses_of(alice.user))) == 420


def test_bulk_import_links_contacts_through_a_users_other_email_identifiers(alice, bob):
    UserIdentifier.objects.create(account=alice.account, user=bob.user, type="email", value="robert@acme.test")
    result = services.contacts_bulk_import(account=alice.account, user=alice.user,
                                           rows=[{"email": "Robert@acme.test"}, {"email": "x@y.test",
                                                                                 "emails": ["bob@acme.test"]}])
    assert result.created == 2
    assert set(Contact.objects.values_list("linked_user_id", flat=True)) == {bob.user.id}


def test_deleting_a_user_deletes_their_personal_data(alice, bob):
    MemoryFactory(user=alice.user)
    ContactFactory(user=alice.user)
    phone = IdentifierFactory(user=alice.user)
    services.preferences_set(identifier=phone, skill="travel", values={"cabinClass": "business"})
    bobs_contact_of_alice = ContactFactory(user=bob.user, email="alice@acme.test", linked_user=alice.user)
    user_delete(user=alice.user)
    assert not Memory.objects.exists()
    assert list(Contact.objects.values_list("id", flat=True)) == [bobs_contact_of_alice.id]
    assert not UserIdentifier.objects.filter(account=alice.account).exclude(user=bob.user).exists()
    assert not IdentifierPreferences.objects.exists()
    bobs_contact_of_alice.refresh_from_db()
    assert bobs_contact_of_alice.linked_user_id is None


@postgresql_only
def test_memory_search_and_tag_filters_can_use_the_postgresql_indexes(alice):
    """The indexes match the SQL the filters generate (UPPER(col::text) LIKE, jsonb @>).

    Seen without the account/user condition, whose btree index the planner prefers while a user has
    few memories; with sequential scans off, only a matching index keeps the plan off a Seq Scan.
    """
    from directory.filters import MemoryFilter

    Memory.objects.bulk_create([
        Memory(account=alice.account, user=alice.user, title=f"Note {i}", content=f"ordinary text {i}",
               tags=[f"tag{i % 50}"]) for i in range(3000)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_memory")
        cursor.execute("SET LOCAL enable_seqscan = off")
    memories = Memory.objects.all()
    searched = MemoryFilter({"search": "needle"}, queryset=memories).qs
    tagged = MemoryFilter({"tags": "tag7,tag8"}, queryset=memories).qs
    search_plan, tags_plan = searched.explain(), tagged.explain()
    assert "directory_memory_title_trgm" in search_plan and "directory_memory_content_trgm" in search_plan
    assert "directory_memory_tags_gin" in tags_plan
    assert "Seq Scan" not in search_plan + tags_plan


def test_phone_identifiers_are_normalised_to_e164_and_refused_when_not_phones():
    assert services.identifier_normalize(type="phone", value=" +1 (415) 555-0100 ") == "+14155550100"
    assert services.identifier_normalize(type="phone", value="+1 415 555 0100 ext. 4") == "+14155550100;ext=4"
    with pytest.raises(ValidationFailed):
        services.identifier_normalize(type="phone", value="555-0100 ext 4")
    assert services.identifier_normalize(type="email", value=" Ann@Example.COM ") == "ann@example.com"
    assert services.identifier_normalize(type="slack", value=" U123ABC ") == "U123ABC"
    with pytest.raises(ValidationFailed):
        services.identifier_normalize(type="fax", value="123")


def test_preferences_set_validates_what_other_apps_pass_too(alice):
    identifier = UserIdentifier.objects.get(user=alice.user, type="email")
    for values, path in (({"count": 9}, "preferences.count"), ({"colour": "red"}, "preferences.colour")):
        with pytest.raises(ValidationFailed) as refused:
            services.preferences_set(identifier=identifier, skill="followups", values=values)
        assert list(refused.value.details) == [path]
    with pytest.raises(NotFound) as unknown:
        services.preferences_set(identifier=identifier, skill="cooking", values={})
    assert unknown.value.error_code == "unknown_skill"
    assert not IdentifierPreferences.objects.exists()
