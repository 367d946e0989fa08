"""Calendars, identifier calendars, sync endpoints and OAuth endpoints through the HTTP API."""
from urllib.parse import parse_qs, urlsplit

import pytest

from calendars_app.models import Calendar, CalendarEvent, OAuthAccess, UserCalendar
from directory.models import UserIdentifier

from .conftest import connect, seed_google, seed_graph
from .factories import UserCalendarFactory


def _ids(body, key="calendars"):
    return [item["id"] for item in body[key]]


# -- GET /calendars ------------------------------------------------------------------------------

@pytest.mark.smoke
def test_calendars_lists_the_calling_users_calendars_in_the_contract_shape(alice, identifier):
    link = UserCalendarFactory(identifier=identifier, is_primary=True)
    response = alice.client.get("/calendars")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and "page" not in body
    [calendar] = body["calendars"]
    assert calendar == {
        "id": link.calendar.id, "account": alice.account.id, "platform": "google", "name": link.calendar.name,
        "timezone": "America/New_York", "referenceId": link.calendar.reference_id, "backgroundColor": "#9E69AF",
        "conferenceSolutions": [], "lastSyncedAt": None, "lastSyncToken": "", "syncError": False, "eventCount": 3,
        "role": "owner", "isPrimary": True, "userIdentifier": identifier.id,
        "createdAt": calendar["createdAt"], "updatedAt": calendar["updatedAt"],
    }
    assert calendar["id"].startswith("cal_") and calendar["createdAt"].endswith("Z")


def test_calendars_are_per_user_so_a_teammate_sees_none_of_alices(alice, bob, identifier, charlie):
    UserCalendarFactory(identifier=identifier)
    assert bob.client.get("/calendars").json()["calendars"] == []
    assert charlie.client.get("/calendars").json()["calendars"] == []


def test_calendars_needs_a_delegated_token(manager, anonymous):
    response = manager.client.get("/calendars")
    assert response.status_code == 403 and response.json()["error_code"] == "user_context_required"
    response = anonymous.get("/calendars")
    assert response.status_code == 401 and response.json()["error_code"] == "authentication_required"


@pytest.mark.parametrize("count", [2, 7])
def test_calendars_list_uses_a_constant_number_of_queries(alice, identifier, count, django_assert_max_num_queries):
    alice.client.get("/calendars")  # provision and warm the certificate cache
    UserCalendarFactory.create_batch(count, identifier=identifier)
    client = alice.client
    # The certificate is cached and its last-use touched already (first call); then: 1. the token's user,
    # 2. the user's links joined with their calendars.
    with django_assert_max_num_queries(2):
        response = client.get("/calendars")
    assert len(response.json()["calendars"]) == count


# -- GET /identifiers/:id/calendars ---------------------------------------------------------------

def test_identifier_calendars_lists_links_of_that_identifier_for_the_account(alice, manager, identifier, bob):
    mine = UserCalendarFactory(identifier=identifier)
    UserCalendarFactory(identifier=bob.user.identifiers.get())
    response = manager.client.get(f"/identifiers/{identifier.id}/calendars")
    assert response.status_code == 200
    assert _ids(response.json()) == [mine.calendar.id]
    assert response.json()["calendars"][0]["userIdentifier"] == identifier.id


@pytest.mark.parametrize("count", [1, 6])
def test_identifier_calendars_uses_a_constant_number_of_queries(alice, identifier, count,
                                                                 django_assert_max_num_queries):
    client = alice.client
    client.get("/calendars")
    UserCalendarFactory.create_batch(count, identifier=identifier)
    # 1. the token's user, 2. the identifier (scoped to the account), 3. its links joined with their calendars.
    with django_assert_max_num_queries(3):
        response = client.get(f"/identifiers/{identifier.id}/calendars")
    assert len(response.json()["calendars"]) == count


def test_identifier_routes_answer_404_for_another_accounts_identifier(charlie, identifier):
    for method, path, body in [
        ("get", f"/identifiers/{identifier.id}/calendars", None),
        ("post", f"/identifiers/{identifier.id}/calendars/sync", {"platform": "google"}),
        ("post", f"/identifiers/{identifier.id}/sync-resources", None),
        ("post", f"/identifiers/{identifier.id}/oauth/google/connect", {}),
        ("get", f"/identifiers/{identifier.id}/oauth/google", None),
        ("put", f"/identifiers/{identifier.id}/oauth/google", {"accessToken": "x"}),
        ("delete", f"/identifiers/{identifier.id}/oauth/google", None),
    ]:
        response = getattr(charlie.client, method)(path, body)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Identifier not found", "error_code": "not_found"}


def test_identifier_routes_need_a_token(anonymous, identifier):
    assert anonymous.get(f"/identifiers/{identifier.id}/calendars").status_code == 401
    assert anonymous.post(f"/identifiers/{identifier.id}/sync-resources").status_code == 401
    assert anonymous.put(f"/identifiers/{identifier.id}/oauth/google", {"accessToken": "x"}).status_code == 401


def test_deeper_identifier_paths_do_not_shadow_the_directory_identifier_route(alice, identifier):
    assert alice.client.get(f"/identifiers/{identifier.id}").json()["identifier"]["id"] == identifier.id
    assert alice.client.get(f"/identifiers/{identifier.id}/calendars").json() == {"ok": True, "calendars": []}


def _event(calendar: Calendar) -> CalendarEvent:
    return CalendarEvent.objects.create(calendar=calendar, provider_id=f"evt-of-{calendar.id}")


def test_deleting_an_identifier_deletes_its_links_and_the_calendars_only_it_linked(alice, identifier, charlie):
    work = UserIdentifier.objects.create(account=alice.account, user=alice.user, type="email",
                                         value="alice.work@acme.test")
    only_work = UserCalendarFactory(identifier=work)
    shared = UserCalendarFactory(identifier=identifier)
    also_via_work = UserCalendarFactory(identifier=work, calendar=shared.calendar)
    events = [_event(only_work.calendar), _event(shared.calendar)]
    elsewhere = UserCalendarFactory(identifier=UserIdentifier.objects.get(user=charlie.user)).calendar
    UserCalendar.objects.filter(calendar=elsewhere).delete()  # another account's orphan: not this delete's

    assert alice.client.delete(f"/identifiers/{work.id}").status_code == 200
    assert not UserCalendar.objects.filter(id__in=[only_work.id, also_via_work.id]).exists()
    assert set(Calendar.objects.values_list("id", flat=True)) == {shared.calendar_id, elsewhere.id}
    assert list(CalendarEvent.objects.values_list("id", flat=True)) == [events[1].id]


def test_deleting_a_user_deletes_the_calendars_only_their_identifiers_linked(alice, bob, manager, identifier):
    own = UserCalendarFactory(identifier=identifier)
    _event(own.calendar)
    shared = UserCalendarFactory(identifier=UserIdentifier.objects.get(user=bob.user))
    UserCalendarFactory(identifier=identifier, calendar=shared.calendar)

    assert manager.client.delete(f"/users/{alice.user.id}").status_code == 200
    assert list(Calendar.objects.values_list("id", flat=True)) == [shared.calendar_id]
    assert not CalendarEvent.objects.exists()


# -- POST /identifiers/:id/calendars/sync ----------------------------------------------------------

def test_calendar_sync_pulls_one_platform_and_answers_its_calendars(alice, providers, identifier):
    seed_google(providers)
    seed_graph(providers)
    connect(providers, identifier, "google")
    connect(providers, identifier, "azure")
    response = alice.client.post(f"/identifiers/{identifier.id}/calendars/sync", {"platform": "azure"})
    assert response.status_code == 200
    calendars = response.json()["calendars"]
    assert [(c["referenceId"], c["platform"], c["isPrimary"]) for c in calendars][0] == ("AAMk-default", "azure", True)
    assert len(calendars) == 3 and calendars[0]["eventCount"] == 3
    assert providers.count("/google/") == 0  # only the asked platform


def test_calendar_sync_validates_the_platform(alice, identifier):
    response = alice.client.post(f"/identifiers/{identifier.id}/calendars/sync", {"platform": "yahoo"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error" and "platform" in response.json()["details"]


def test_calendar_sync_without_oauth_access_is_refused(alice, identifier):
    response = alice.client.post(f"/identifiers/{identifier.id}/calendars/sync", {"platform": "google"})
    assert response.status_code == 400
    assert response.json() == {"error": "No OAuth access found for this identifier on google",
                               "error_code": "oauth_access_missing"}


def test_calendar_sync_answers_409_when_the_grant_needs_reconsent(alice, providers, identifier):
    connect(providers, identifier)
    providers.expire_access_tokens()
    providers.revoke_refresh_tokens()
    response = alice.client.post(f"/identifiers/{identifier.id}/calendars/sync", {"platform": "google"})
    assert response.status_code == 409 and response.json()["error_code"] == "oauth_reconsent_required"
    status = alice.client.get(f"/identifiers/{identifier.id}/oauth/google").json()["oauth"]
    assert status["status"] == "needs_reconsent" and status["needsReconsent"] is True


def test_calendar_sync_answers_503_when_the_provider_stays_down(alice, providers, identifier):
    connect(providers, identifier)
    providers.fail("/calendarList", 503, times=10, headers={"Retry-After": "0"})
    response = alice.client.post(f"/identifiers/{identifier.id}/calendars/sync", {"platform": "google"})
    assert response.status_code == 503 and response.json()["error_code"] == "provider_unavailable"


# -- POST /identifiers/:id/sync-resources ---------------------------------------------------------

@pytest.mark.smoke
def test_sync_resources_inline_answers_the_completed_shape(alice, providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    response = alice.client.post(f"/identifiers/{identifier.id}/sync-resources")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "syncResources": {
        "message": "Resource sync completed", "identifierId": identifier.id, "userId": alice.user.id,
        "status": "completed", "result": {"calendarsSynced": 3, "contactsSynced": 3, "errors": []}}}
    assert len(alice.client.get("/calendars").json()["calendars"]) == 3


def test_sync_resources_queued_answers_the_queued_shape_and_enqueues_after_commit(
        alice, providers, identifier, settings, django_capture_on_commit_callbacks):
    settings.TSKR_SYNC_MODE = "queue"
    connect(providers, identifier)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice.client.post(f"/identifiers/{identifier.id}/sync-resources")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "syncResources": {
        "message": "Resource sync triggered successfully", "identifierId": identifier.id, "userId": alice.user.id,
        "status": "queued"}}
    assert len(callbacks) == 1 and providers.requests == []


def test_sync_resources_reports_a_platform_needing_reconsent_in_errors(alice, providers, identifier):
    seed_google(providers)
    seed_graph(providers)
    connect(providers, identifier, "google")
    connect(providers, identifier, "azure")
    OAuthAccess.objects.filter(platform="google").update(status="needs_reconsent")
    result = alice.client.post(f"/identifiers/{identifier.id}/sync-resources").json()["syncResources"]["result"]
    assert result["calendarsSynced"] == 3 and result["contactsSynced"] == 2
    assert [(e["platform"], e["resource"], e["errorCode"]) for e in result["errors"]] == [
        ("google", "oauth", "oauth_reconsent_required")]


def test_sync_resources_without_any_oauth_access_is_refused(alice, identifier):
    response = alice.client.post(f"/identifiers/{identifier.id}/sync-resources")
    assert response.status_code == 400 and response.json()["error_code"] == "oauth_access_missing"


def test_contacts_are_synced_only_with_contacts_read_granted(alice, providers, identifier):
    seed_google(providers)
    identifier.platforms = {"google": {"accessGranted": ["calendars.read"]}}
    identifier.save()
    connect(providers, identifier)
    result = alice.client.post(f"/identifiers/{identifier.id}/sync-resources").json()["syncResources"]["result"]
    assert (result["calendarsSynced"], result["contactsSynced"]) == (3, 0)
    assert providers.count("/connections") == 0


# -- OAuth endpoints -------------------------------------------------------------------------------

def test_put_tokens_stores_them_encrypted_and_never_returns_them(alice, providers, identifier):
    response = alice.client.put(f"/identifiers/{identifier.id}/oauth/google", {
        "accessToken": "ya29.secret-access", "refreshToken": "1//secret-refresh",
        "expiresAt": "2030-01-01T00:00:00Z", "scopes": ["https://www.googleapis.com/auth/calendar.readonly"]})
    assert response.status_code == 200
    oauth = response.json()["oauth"]
    assert "secret" not in response.content.decode()
    assert (oauth["platform"], oauth["status"], oauth["hasRefreshToken"], oauth["expiresAt"]) == (
        "google", "active", True, "2030-01-01T00:00:00Z")
    access = OAuthAccess.objects.get(identifier=identifier)
    assert access.access_token == "ya29.secret-access" and "secret" not in access.access_token_encrypted
    assert "secret" not in alice.client.get(f"/identifiers/{identifier.id}/oauth/google").content.decode()
    identifier.refresh_from_db()
    assert identifier.platforms["google"]["connected"] is True


def test_put_tokens_requires_an_access_token(alice, identifier):
    response = alice.client.put(f"/identifiers/{identifier.id}/oauth/azure", {"refreshToken": "r"})
    assert response.status_code == 400 and "accessToken" in response.json()["details"]


def test_get_oauth_without_a_grant_is_404(alice, identifier):
    response = alice.client.get(f"/identifiers/{identifier.id}/oauth/azure")
    assert response.status_code == 404 and response.json()["error_code"] == "oauth_access_not_found"


def test_unknown_platform_paths_do_not_exist(alice, identifier):
    assert alice.client.get(f"/identifiers/{identifier.id}/oauth/yahoo").status_code == 404


def test_delete_revokes_at_google_and_forgets_the_tokens(alice, providers, identifier):
    access = connect(providers, identifier)
    refresh = access.refresh_token
    response = alice.client.delete(f"/identifiers/{identifier.id}/oauth/google")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "oauth": {"id": access.id, "message": "OAuth access revoked successfully"}}
    assert providers.revoked == [refresh]
    assert not OAuthAccess.objects.filter(identifier=identifier).exists()


def _connect(client, identifier, platform="google", **body):
    response = client.post(f"/identifiers/{identifier.id}/oauth/{platform}/connect", body)
    assert response.status_code == 200, response.json()
    return response.json()["oauth"]


def test_connect_answers_a_consent_url_with_scopes_and_a_signed_state(alice, providers, identifier):
    oauth = _connect(alice.client, identifier)
    url = urlsplit(oauth["authUrl"])
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{providers.url}/google/auth"
    assert query["client_id"] == "google-client-id" and query["response_type"] == "code"
    assert query["redirect_uri"] == "https://api.tskr.test/oauth/google/callback"
    assert query["access_type"] == "offline" and query["state"]
    assert "https://www.googleapis.com/auth/contacts.readonly" in query["scope"].split()
    assert oauth["access"] == ["calendars.read", "contacts.read"]


def test_connect_without_client_credentials_is_503(alice, identifier, settings):
    settings.MICROSOFT_OAUTH_CLIENT_ID = ""
    response = alice.client.post(f"/identifiers/{identifier.id}/oauth/azure/connect", {})
    assert response.status_code == 400 and response.json()["error_code"] == "oauth_not_configured"


def test_callback_exchanges_the_code_and_stores_the_grant_once(alice, anonymous, providers, identifier):
    state = parse_qs(urlsplit(_connect(alice.client, identifier, "azure",
                                       access=["calendars.read"])["authUrl"]).query)["state"][0]
    code = providers.issue_code("microsoft", email=identifier.value)

    response = anonymous.get("/oauth/azure/callback", {"code": code, "state": state})

    assert response.status_code == 200, response.json()
    oauth = response.json()["oauth"]
    assert (oauth["identifierId"], oauth["platform"], oauth["status"]) == (identifier.id, "azure", "active")
    token_call = next(r for r in providers.requests if r["path"] == "/microsoft/token")
    assert token_call["form"]["redirect_uri"] == "https://api.tskr.test/oauth/azure/callback"
    assert OAuthAccess.objects.get(identifier=identifier, platform="azure").access_token in providers.access_tokens
    replay = anonymous.get("/oauth/azure/callback", {"code": code, "state": state})
    assert replay.status_code == 400 and replay.json()["error_code"] == "oauth_state_used"


def test_callback_refuses_a_forged_or_misdirected_state(alice, anonymous, providers, identifier):
    state = parse_qs(urlsplit(_connect(alice.client, identifier)["authUrl"]).query)["state"][0]
    forged = anonymous.get("/oauth/google/callback", {"code": "c", "state": state[:-2] + "xx"})
    assert forged.status_code == 400 and forged.json()["error_code"] == "invalid_oauth_state"
    other_platform = anonymous.get("/oauth/azure/callback", {"code": "c", "state": state})
    assert other_platform.status_code == 400 and other_platform.json()["error_code"] == "invalid_oauth_state"
    assert not OAuthAccess.objects.exists()


def test_callback_reports_denied_consent_and_rejected_codes(alice, anonymous, providers, identifier):
    def state():
        return parse_qs(urlsplit(_connect(alice.client, identifier)["authUrl"]).query)["state"][0]

    denied = anonymous.get("/oauth/google/callback", {"error": "access_denied", "state": state()})
    assert denied.status_code == 400 and denied.json()["error_code"] == "oauth_access_denied"
    rejected = anonymous.get("/oauth/google/callback", {"code": "never-issued", "state": state()})
    assert rejected.status_code == 400 and rejected.json()["error_code"] == "oauth_code_rejected"
    assert not OAuthAccess.objects.exists()


def test_callback_refuses_consent_given_by_another_account(alice, anonymous, providers, identifier):
    """A connect link opened and consented by someone else must not attach their calendars to Alice."""
    for platform, fake in (("google", "google"), ("azure", "microsoft")):
        state = parse_qs(urlsplit(_connect(alice.client, identifier, platform)["authUrl"]).query)["state"][0]
        code = providers.issue_code(fake, email="mallory@evil.test")
        response = anonymous.get(f"/oauth/{platform}/callback", {"code": code, "state": state})
        assert response.status_code == 400, response.json()
        assert response.json()["error_code"] == "oauth_account_mismatch"
    assert not OAuthAccess.objects.exists()


def test_callback_records_access_granted_when_the_identifier_had_none(alice, anonymous, providers):
    identifier = UserIdentifier.objects.create(account=alice.account, user=alice.user, type="email",
                                               value="alice.work@acme.test")
    state = parse_qs(urlsplit(_connect(alice.client, identifier)["authUrl"]).query)["state"][0]
    anonymous.get("/oauth/google/callback", {"code": providers.issue_code("google", email=identifier.value),
                                             "state": state})
    identifier.refresh_from_db()
    assert identifier.platforms["google"]["accessGranted"] == ["calendars.read"]
    assert identifier.platforms["google"]["connected"] is True


def test_calendars_survive_listing_after_sync_and_keep_their_ids_on_resync(alice, providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    alice.client.post(f"/identifiers/{identifier.id}/sync-resources")
    first = sorted(_ids(alice.client.get("/calendars").json()))
    providers.expire_sync_tokens()
    alice.client.post(f"/identifiers/{identifier.id}/sync-resources")
    assert sorted(_ids(alice.client.get("/calendars").json())) == first
    assert Calendar.objects.count() == 3


def test_tokens_must_be_visible_ascii(alice):
    identifier = alice.client.get("/identifiers").json()["identifiers"][0]
    response = alice.client.put(f"/identifiers/{identifier['id']}/oauth/google",
                                {"accessToken": "tok\u00e9n", "refreshToken": "line\nbreak"})
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"accessToken", "refreshToken"}


# -- who may connect, change and sync a grant ---------------------------------------------------------

def _state(client, identifier, platform="google"):
    return parse_qs(urlsplit(_connect(client, identifier, platform)["authUrl"]).query)["state"][0]


def test_a_delegated_token_may_not_connect_change_revoke_or_sync_a_teammates_identifier(alice, bob, providers,
                                                                                       identifier):
    connect(providers, identifier)
    for response in (
        bob.client.post(f"/identifiers/{identifier.id}/oauth/google/connect", {}),
        bob.client.put(f"/identifiers/{identifier.id}/oauth/azure", {"accessToken": "bob's"}),
        bob.client.delete(f"/identifiers/{identifier.id}/oauth/google"),
        bob.client.post(f"/identifiers/{identifier.id}/sync-resources"),
        bob.client.post(f"/identifiers/{identifier.id}/calendars/sync", {"platform": "google"}),
    ):
        assert response.status_code == 403, response.json()
        assert response.json()["error_code"] == "identifier_not_owned"
    assert OAuthAccess.objects.filter(identifier=identifier).count() == 1 and providers.revoked == []
    assert not Calendar.objects.exists()
    # reads stay account-wide
    assert bob.client.get(f"/identifiers/{identifier.id}/oauth/google").status_code == 200
    assert bob.client.get(f"/identifiers/{identifier.id}/calendars").status_code == 200


def test_a_management_token_may_connect_and_change_any_identifiers_grant(manager, providers, identifier):
    assert manager.client.put(f"/identifiers/{identifier.id}/oauth/azure", {"accessToken": "t"}).status_code == 200
    assert manager.client.post(f"/identifiers/{identifier.id}/oauth/google/connect", {}).status_code == 200
    assert manager.client.delete(f"/identifiers/{identifier.id}/oauth/azure").status_code == 200


def test_callback_completes_only_while_the_identifier_belongs_to_the_user_who_started(alice, bob, manager,
                                                                                     anonymous, providers):
    phone = UserIdentifier.objects.create(account=alice.account, user=alice.user, type="phone", value="+14155550100")
    state = _state(alice.client, phone)
    UserIdentifier.objects.filter(id=phone.id).update(user=bob.user)  # moved to Bob meanwhile (staff screens)
    response = anonymous.get("/oauth/google/callback", {"code": providers.issue_code("google", email="x@y.test"),
                                                        "state": state})
    assert response.status_code == 400 and response.json()["error_code"] == "invalid_oauth_state"
    assert not OAuthAccess.objects.exists()


def test_callback_compares_the_consenting_address_folding_ascii_case_only(alice, anonymous, providers):
    work = UserIdentifier.objects.create(account=alice.account, user=alice.user, type="email",
                                         value="kim.alice@acme.test")
    kelvin = anonymous.get("/oauth/google/callback", {
        "code": providers.issue_code("google", email="\u212aim.alice@acme.test"), "state": _state(alice.client, work)})
    assert kelvin.status_code == 400 and kelvin.json()["error_code"] == "oauth_account_mismatch"
    upper = anonymous.get("/oauth/google/callback", {
        "code": providers.issue_code("google", email="KIM.Alice@acme.test"), "state": _state(alice.client, work)})
    assert upper.status_code == 200, upper.json()
