"""Each memory and contact event is emitted by its action with the API's shapes; one event per import."""
from accounts.models import Event


def events(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]


def test_memory_create_update_delete_emit_their_events(alice):
    memory = alice.client.post("/memories", {"title": "Coffee", "content": "Black, no sugar"}).json()["memory"]
    assert events("memory.created") == [memory]
    updated = alice.client.put(f"/memories/{memory['id']}", {"content": "Flat white"}).json()["memory"]
    [data] = events("memory.updated")
    assert data.pop("previousAttributes") == {"content": "Black, no sugar"} and data == updated
    assert alice.client.delete(f"/memories/{memory['id']}").status_code == 200
    assert events("memory.deleted") == [updated]


def test_contact_create_update_delete_emit_their_events(alice):
    contact = alice.client.post("/contacts", {"name": "Dan", "email": "dan@example.com"}).json()["contact"]
    assert events("contact.created") == [contact]
    updated = alice.client.put(f"/contacts/{contact['id']}", {"company": "Initech"}).json()["contact"]
    [data] = events("contact.updated")
    assert data.pop("previousAttributes") == {"company": ""} and data == updated
    assert alice.client.delete(f"/contacts/{contact['id']}").status_code == 200
    assert events("contact.deleted") == [updated]


def test_a_bulk_import_emits_one_event_with_its_counts(alice):
    alice.client.post("/contacts", {"name": "Dan", "email": "dan@example.com"})
    rows = [{"email": "dan@example.com", "company": "Initech"}, {"email": "eve@example.com"}, {"email": "broken"}]
    response = alice.client.post("/contacts/bulk-import", {"contacts": rows})
    assert response.status_code == 200, response.json()
    [data] = events("contacts.imported")
    assert data["userId"] == alice.user.id
    assert (data["total"], data["created"], data["updated"], data["skipped"], len(data["errors"])) == (3, 1, 1, 0, 1)
    assert len(events("contact.created")) == 1  # the single create above, not one per imported row
