"""Sync outcomes and lost grants emit their events (against the loopback provider fake)."""
from accounts.models import Event

from .conftest import connect, seed_google, sync


def events(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]


def test_a_successful_sync_emits_identifier_sync_succeeded_with_its_result(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    result = sync(identifier)
    assert result.errors == []
    assert events("identifier.sync.succeeded") == [{"identifierId": identifier.id, "userId": identifier.user_id,
                                                    "platforms": ["google"], **result.as_dict()}]
    # the contacts the sync brought in: a contacts.imported per page imported, not one event per contact
    assert sum(data["created"] for data in events("contacts.imported")) == 3 and events("contact.created") == []


def test_invalid_grant_emits_reauthorization_required_and_sync_failed(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    providers.expire_access_tokens()
    providers.revoke_refresh_tokens()
    result = sync(identifier)
    [reauthorization] = events("identifier.oauth.reauthorization_required")
    assert reauthorization["identifierId"] == identifier.id and reauthorization["platform"] == "google"
    assert "invalid_grant" in reauthorization["error"]
    [failed] = events("identifier.sync.failed")
    assert failed["errors"] == result.errors and failed["identifierId"] == identifier.id
    assert events("identifier.sync.succeeded") == []
