"""The sync engine against the loopback fake of Google and Microsoft, over real HTTP."""
import threading
import time
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.db import connection
from django.utils import timezone

from calendars_app import services
from calendars_app.models import Calendar, CalendarEvent, OAuthAccess, UserCalendar
from directory.models import Contact

from .conftest import connect, seed_google, seed_graph, sync
from .fake_providers import FakeProviders


def _calendars(identifier) -> dict[str, UserCalendar]:
    links = UserCalendar.objects.filter(identifier=identifier).select_related("calendar")
    return {link.calendar.reference_id: link for link in links}


# -- Google --------------------------------------------------------------------------------------

def test_first_google_sync_pulls_all_calendar_pages_events_and_contacts(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    result = sync(identifier)

    assert result.as_dict() == {"calendarsSynced": 3, "contactsSynced": 3, "errors": []}
    links = _calendars(identifier)
    primary = links["alice@acme.test"]
    assert (primary.role, primary.is_primary, primary.user_id) == ("owner", True, identifier.user_id)
    assert primary.calendar.timezone == "America/New_York" and primary.calendar.background_color == "#9E69AF"
    assert primary.calendar.conference_solutions == ["Google Meet"]
    assert primary.calendar.event_count == 3 and primary.calendar.last_sync_token.startswith("st-")
    assert primary.calendar.last_synced_at is not None and primary.calendar.sync_error is False
    assert (links["team@group.calendar.google.com"].role, links["holidays@group.v.calendar.google.com"].role) == (
        "writer", "reader")
    assert links["team@group.calendar.google.com"].calendar.event_count == 1
    busy = CalendarEvent.objects.get(calendar=primary.calendar, provider_id="evt0")
    assert busy.start == datetime(2026, 3, 1, 15, 0, tzinfo=dt_timezone.utc) and busy.transparency == "opaque"
    assert CalendarEvent.objects.get(provider_id="evt2").transparency == "transparent"
    # Two pages of calendarList (3 calendars, 2 per page), then the contacts through the directory import.
    assert providers.count("/calendarList") == 2
    contacts = {c.email: c for c in Contact.objects.filter(user=identifier.user)}
    assert set(contacts) == {"dana@partner.test", "eli@partner.test", "fay@vendor.test"}
    assert (contacts["dana@partner.test"].company, contacts["dana@partner.test"].title) == ("Partner", "CTO")


def test_incremental_sync_without_changes_makes_one_request_per_resource(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    sync(identifier)
    before = len(providers.requests)

    result = sync(identifier)

    requests = providers.requests[before:]
    paths = sorted(r["path"].rsplit("/", 1)[-1] for r in requests)
    # calendarList once, events once per calendar (3), connections once; no token request.
    assert paths == ["calendarList", "connections", "events", "events", "events"]
    assert all(r["query"].get("syncToken", "").startswith("st-") for r in requests)
    assert result.as_dict() == {"calendarsSynced": 3, "contactsSynced": 0, "errors": []}
    assert Calendar.objects.get(reference_id="alice@acme.test").event_count == 3


def test_changes_and_deletions_are_applied_incrementally(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    sync(identifier)

    providers.google_event("alice@acme.test", "evt9", "2026-04-01T10:00:00Z", "2026-04-01T11:00:00Z")
    providers.google_event("alice@acme.test", "evt0", "2026-03-01T16:00:00Z", "2026-03-01T17:00:00Z")
    providers.google_delete_event("alice@acme.test", "evt1")
    providers.google_calendar("team@group.calendar.google.com", "Team (renamed)", access_role="owner")
    providers.google_delete_calendar("holidays@group.v.calendar.google.com")
    providers.google_person("people/c3", "Fay Fox-Fisher", "fay@vendor.test")
    sync(identifier)

    links = _calendars(identifier)
    assert set(links) == {"alice@acme.test", "team@group.calendar.google.com"}
    assert not Calendar.objects.filter(reference_id="holidays@group.v.calendar.google.com").exists()
    assert (links["team@group.calendar.google.com"].calendar.name, links["team@group.calendar.google.com"].role) == (
        "Team (renamed)", "owner")
    primary = links["alice@acme.test"].calendar
    events = {e.provider_id: e for e in CalendarEvent.objects.filter(calendar=primary)}
    assert set(events) == {"evt0", "evt2", "evt9"} and primary.event_count == 3
    assert events["evt0"].start == datetime(2026, 3, 1, 16, 0, tzinfo=dt_timezone.utc)
    assert Contact.objects.get(user=identifier.user, email="fay@vendor.test").name == "Fay Fox-Fisher"
    assert Contact.objects.filter(user=identifier.user).count() == 3


def test_gone_sync_tokens_trigger_a_full_resync_that_drops_what_vanished(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    sync(identifier)
    providers.expire_sync_tokens()
    # Changes the provider forgot to report: only a full listing can notice them.
    providers.stores["google:events:alice@acme.test"].pop("evt1")
    providers.stores["google:calendars"].pop("holidays@group.v.calendar.google.com")
    before = len(providers.requests)

    result = sync(identifier)

    assert result.errors == []
    requests = providers.requests[before:]
    gone = [r for r in requests if "syncToken" in r["query"]]
    assert len(gone) == 4  # calendarList, 2 remaining calendars' events, connections: each once, then in full
    assert set(_calendars(identifier)) == {"alice@acme.test", "team@group.calendar.google.com"}
    primary = Calendar.objects.get(reference_id="alice@acme.test")
    assert primary.event_count == 2 and set(primary.events.values_list("provider_id", flat=True)) == {"evt0", "evt2"}
    assert Contact.objects.filter(user=identifier.user).count() == 3


def test_throttled_requests_are_retried_after_retry_after(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    providers.fail("/calendarList", 429, headers={"Retry-After": "1"})
    providers.fail("/events", 403, body={"error": {"code": 403, "message": "Rate Limit Exceeded", "errors": [
        {"domain": "usageLimits", "reason": "userRateLimitExceeded"}]}})
    started = time.monotonic()

    result = sync(identifier)

    assert result.errors == [] and result.calendars_synced == 3
    assert time.monotonic() - started >= 1.0
    assert providers.count("/calendarList") == 3  # the 429, then the two pages


def test_throttling_is_retried_a_bounded_number_of_times_then_reported(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    providers.fail("/calendarList", 429, headers={"Retry-After": "0"}, times=10)

    result = sync(identifier)

    assert providers.count("/calendarList") == 4
    assert result.transient is True
    assert [(e["platform"], e["resource"], e["errorCode"]) for e in result.errors] == [
        ("google", "calendars", "provider_unavailable")]
    assert OAuthAccess.objects.get(identifier=identifier).status == "active"


def test_a_rejected_access_token_is_refreshed_once_and_the_call_repeated(providers, identifier):
    seed_google(providers)
    access = connect(providers, identifier)
    old_token = access.access_token
    providers.expire_access_tokens()

    result = sync(identifier)

    assert result.errors == []
    assert providers.count("/google/token", method="POST") == 1
    access.refresh_from_db()
    assert access.access_token != old_token and access.access_token in providers.access_tokens
    assert access.expires_at > timezone.now() + timedelta(minutes=50)


def test_an_expired_access_token_is_refreshed_before_the_call(providers, identifier):
    seed_google(providers)
    access = connect(providers, identifier)
    OAuthAccess.objects.filter(id=access.id).update(expires_at=timezone.now() - timedelta(minutes=1))
    providers.expire_access_tokens()

    sync(identifier)

    unauthorized = [r for r in providers.requests if r["path"].endswith("calendarList")]
    assert providers.count("/google/token", method="POST") == 1
    assert all(r["authorization"] == f"Bearer {OAuthAccess.objects.get().access_token}" for r in unauthorized)


def test_microsoft_rotated_refresh_tokens_are_saved_at_once(providers, identifier):
    seed_graph(providers)
    access = connect(providers, identifier, "azure")
    first_refresh = access.refresh_token
    providers.expire_access_tokens()
    assert sync(identifier).errors == []
    access.refresh_from_db()
    assert access.refresh_token != first_refresh and access.refresh_token in providers.refresh_tokens

    providers.expire_access_tokens()  # the fake killed the first refresh token: only the saved one works
    assert sync(identifier).errors == []
    assert providers.count("/microsoft/token", method="POST") == 2


def test_invalid_grant_marks_the_access_for_reconsent_and_stops_calling(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    providers.expire_access_tokens()
    providers.revoke_refresh_tokens()

    result = sync(identifier)

    assert [(e["resource"], e["errorCode"]) for e in result.errors] == [("calendars", "oauth_reconsent_required")]
    assert result.transient is False
    access = OAuthAccess.objects.get(identifier=identifier)
    assert access.status == "needs_reconsent" and "invalid_grant" in access.last_error
    identifier.refresh_from_db()
    assert identifier.platforms["google"]["needsReconsent"] is True
    assert identifier.platforms["google"]["accessGranted"] == ["calendars.read", "contacts.read"]

    before = len(providers.requests)
    again = sync(identifier)
    assert len(providers.requests) == before  # no more attempts until the user consents again
    assert again.errors[0]["errorCode"] == "oauth_reconsent_required"


@pytest.mark.smoke
def test_tokens_are_encrypted_in_the_database(providers, identifier):
    access = connect(providers, identifier)
    plain_access, plain_refresh = access.access_token, access.refresh_token
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token_encrypted, refresh_token_encrypted FROM calendars_app_oauthaccess")
        stored = cursor.fetchone()
    assert plain_access.startswith("google-at-") and plain_refresh.startswith("google-rt-")
    assert plain_access not in stored[0] and plain_refresh not in stored[1]
    assert stored[0].startswith("gAAAA")  # a Fernet token


def test_rotating_the_encryption_key_keeps_tokens_readable(providers, identifier, settings):
    from cryptography.fernet import Fernet

    from calendars_app import crypto

    old_key = Fernet.generate_key().decode()
    settings.TSKR_ENCRYPTION_KEYS = [old_key]
    access = connect(providers, identifier)
    plain = access.access_token
    new_key = Fernet.generate_key().decode()
    settings.TSKR_ENCRYPTION_KEYS = [new_key, old_key]

    assert services.oauth_tokens_reencrypt() == 1

    settings.TSKR_ENCRYPTION_KEYS = [new_key]
    access.refresh_from_db()
    assert access.access_token == plain
    assert crypto.decrypt(access.access_token_encrypted) == plain


def test_first_graph_sync_follows_next_links_and_keeps_delta_links(providers, identifier):
    seed_graph(providers)
    connect(providers, identifier, "azure")
    result = sync(identifier)

    assert result.as_dict() == {"calendarsSynced": 3, "contactsSynced": 2, "errors": []}
    links = _calendars(identifier)
    assert {ref: (link.role, link.is_primary) for ref, link in links.items()} == {
        "AAMk-default": ("owner", True), "AAMk-shared": ("reader", False), "AAMk-team": ("writer", False)}
    default = links["AAMk-default"].calendar
    assert default.conference_solutions == ["Microsoft Teams"] and default.background_color == "#E0F0FF"
    assert default.event_count == 3 and "$deltatoken=" in default.last_sync_token
    events = {e.provider_id: e for e in default.events.all()}
    assert events["m1"].start == datetime(2026, 3, 1, 10, tzinfo=dt_timezone.utc)
    assert (events["m2"].transparency, events["m3"].status) == ("transparent", "tentative")
    assert providers.count("/me/calendars") - providers.count("/calendarView") == 2  # two pages of calendars
    first_delta = next(r for r in providers.requests if r["path"].endswith("/calendarView/delta"))
    assert "startDateTime" in first_delta["query"] and 'outlook.timezone="UTC"' in first_delta["prefer"]
    assert set(Contact.objects.filter(user=identifier.user).values_list("email", flat=True)) == {
        "gus@client.test", "hal@client.test"}


def test_graph_incremental_sync_applies_removals_and_calendar_deletions(providers, identifier):
    seed_graph(providers)
    connect(providers, identifier, "azure")
    sync(identifier)
    before = len(providers.requests)
    sync(identifier)
    unchanged = providers.requests[before:]
    # me/calendars has no delta: listed in full (2 pages); events and contacts: one delta request each.
    assert len(unchanged) == 2 + 3 + 1
    assert all("$deltatoken" in r["query"] for r in unchanged if r["path"].endswith("/delta"))

    providers.graph_delete_event("AAMk-default", "m1")
    providers.graph_delete_calendar("AAMk-team")
    sync(identifier)

    assert set(_calendars(identifier)) == {"AAMk-default", "AAMk-shared"}
    default = Calendar.objects.get(reference_id="AAMk-default")
    assert default.event_count == 2 and not default.events.filter(provider_id="m1").exists()


def test_graph_expired_delta_link_means_a_full_resync(providers, identifier):
    seed_graph(providers)
    connect(providers, identifier, "azure")
    sync(identifier)
    providers.expire_sync_tokens()
    providers.stores["microsoft:events:AAMk-default"].pop("m2")

    assert sync(identifier).errors == []

    default = Calendar.objects.get(reference_id="AAMk-default")
    assert set(default.events.values_list("provider_id", flat=True)) == {"m1", "m3"} and default.event_count == 2


def test_links_off_the_provider_host_are_never_followed(providers, identifier):
    elsewhere = FakeProviders().start()
    try:
        seed_graph(providers)
        connect(providers, identifier, "azure")
        providers.evil_link = f"{elsewhere.url}/latest/meta-data?$skiptoken=x"

        result = sync(identifier)

        assert elsewhere.requests == []
        assert [(e["resource"], e["errorCode"]) for e in result.errors] == [("events", "unsafe_provider_link")]
        assert Calendar.objects.filter(sync_error=True).count() == 1
    finally:
        elsewhere.stop()


def test_a_calendar_shared_by_two_identifiers_is_one_calendar_with_two_links(providers, identifier, bob):
    seed_google(providers)
    connect(providers, identifier)
    bob_identifier = bob.user.identifiers.get(type="email")
    connect(providers, bob_identifier)
    sync(identifier)
    sync(bob_identifier)

    assert Calendar.objects.filter(account=identifier.account).count() == 3
    assert UserCalendar.objects.filter(calendar__reference_id="team@group.calendar.google.com").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_syncs_of_one_identifier_never_run_at_once(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    pause = providers.pause_on("/events")
    outcome = {}

    def first_sync():
        try:
            outcome["result"] = sync(identifier)
        finally:
            connection.close()

    worker = threading.Thread(target=first_sync)
    worker.start()
    assert pause.reached.wait(10)
    try:
        with pytest.raises(services.SyncAlreadyRunning):
            sync(identifier)
    finally:
        pause.release.set()
        worker.join(20)
    assert outcome["result"].errors == []
    assert sync(identifier).errors == []  # the lock was released
