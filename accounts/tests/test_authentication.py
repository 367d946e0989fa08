"""Every way a token is rejected answers 401 with its own error_code; good tokens get through."""
import base64
import json
import time

import jwt
import pytest
from django.test import override_settings

from accounts.models import Account, Certificate, User
from accounts.services import certificate_revoke
from tskr.testing import ApiClient, key_pair, make_certificate


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


def now() -> int:
    return int(time.time())


def assert_rejected(response, error_code: str):
    assert response.status_code == 401, response.content
    assert response.json()["error_code"] == error_code
    assert response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.smoke
def test_a_valid_management_token_is_accepted(manager):
    response = manager.client.get("/assistants")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "assistants": []}


def test_missing_header_is_401_authentication_required(alice, anonymous):
    assert_rejected(anonymous.get("/users"), "authentication_required")


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer a b", "bearer"])
def test_malformed_authorization_header_is_401(alice, header):
    response = ApiClient().get("/users", headers={"Authorization": header})
    assert_rejected(response, "invalid_authorization_header")


def test_token_in_query_string_or_cookie_is_ignored(alice):
    client = ApiClient()
    client._client.cookies["token"] = alice.token()
    assert_rejected(client.get("/users", {"token": alice.token(), "access_token": alice.token()}),
                    "authentication_required")


def test_garbage_token_is_malformed(alice):
    assert_rejected(ApiClient("not-a-jwt").get("/users"), "malformed_token")


def test_unknown_kid_is_rejected(alice):
    token = jwt.encode({"iat": now(), "exp": now() + 60}, alice.private_pem, algorithm="RS256",
                       headers={"kid": "kid_does_not_exist"})
    assert_rejected(ApiClient(token).get("/users"), "unknown_kid")


def test_missing_kid_is_rejected(alice):
    token = jwt.encode({"iat": now(), "exp": now() + 60}, alice.private_pem, algorithm="RS256")
    assert_rejected(ApiClient(token).get("/users"), "missing_kid")


def test_revoked_certificate_is_rejected(alice):
    token = alice.token()
    assert ApiClient(token).get("/users").status_code == 200
    certificate_revoke(kid=alice.certificate.kid)
    assert_rejected(ApiClient(token).get("/users"), "certificate_revoked")


def test_revocation_reaches_other_processes_within_the_cache_period(alice, settings):
    """Another process's revocation is only visible through the DB: the cache entry must age out."""
    from accounts.authentication import certificate_cache

    settings.TSKR_CERTIFICATE_CACHE_SECONDS = 1
    token = alice.token()
    assert ApiClient(token).get("/users").status_code == 200
    # Simulate a revocation by another server process: a DB write without touching this process's cache.
    Certificate.objects.filter(kid=alice.certificate.kid).update(status=Certificate.Status.REVOKED)
    assert ApiClient(token).get("/users").status_code == 200  # still cached here
    time.sleep(1.05)
    assert_rejected(ApiClient(token).get("/users"), "certificate_revoked")
    assert certificate_cache.get(alice.certificate.kid).revoked


def test_signature_from_another_key_is_rejected(alice):
    _, other_private = key_pair(1)
    token = jwt.encode({"iat": now(), "exp": now() + 60}, other_private, algorithm="RS256",
                       headers={"kid": alice.certificate.kid})
    assert_rejected(ApiClient(token).get("/users"), "invalid_signature")


def test_tampered_claims_are_rejected(alice):
    header, _, signature = alice.token().split(".")
    forged = b64(json.dumps({"iat": now(), "exp": now() + 60, "email": "admin@skej.com"}).encode())
    assert_rejected(ApiClient(f"{header}.{forged}.{signature}").get("/users"), "invalid_signature")


def test_alg_none_is_rejected(alice):
    token = unsigned_token({"alg": "none", "kid": alice.certificate.kid}, {"iat": now(), "exp": now() + 60})
    assert_rejected(ApiClient(token).get("/users"), "unsupported_algorithm")


def test_hs256_signed_with_the_public_key_as_secret_is_rejected(alice):
    """The classic key-confusion attack: HMAC with the (public) PEM as the shared secret."""
    import hashlib
    import hmac

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": alice.certificate.kid}).encode())
    claims = b64(json.dumps({"iat": now(), "exp": now() + 60}).encode())
    signing_input = f"{header}.{claims}".encode()
    signature = hmac.new(alice.certificate.public_key_pem.encode(), signing_input, hashlib.sha256).digest()
    assert_rejected(ApiClient(f"{header}.{claims}.{b64(signature)}").get("/users"), "unsupported_algorithm")


@pytest.mark.parametrize("alg", ["RS512", "PS256", "ES256"])
def test_other_asymmetric_algorithms_are_rejected(alice, alg):
    token = unsigned_token({"alg": alg, "kid": alice.certificate.kid}, {"iat": now(), "exp": now() + 60}, b"x")
    assert_rejected(ApiClient(token).get("/users"), "unsupported_algorithm")


def test_jku_x5u_and_jwk_headers_are_ignored_and_never_fetched(alice):
    """A token pointing at a foreign key source still verifies only against the registered key."""
    _, attacker_private = key_pair(1)
    evil_headers = {"kid": alice.certificate.kid, "jku": "http://127.0.0.1:9/keys", "x5u": "http://127.0.0.1:9/x",
                    "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}
    forged = jwt.encode({"iat": now(), "exp": now() + 60}, attacker_private, algorithm="RS256", headers=evil_headers)
    assert_rejected(ApiClient(forged).get("/users"), "invalid_signature")
    genuine = jwt.encode({"iat": now(), "exp": now() + 60}, alice.private_pem, algorithm="RS256",
                         headers=evil_headers)
    assert ApiClient(genuine).get("/users").status_code == 200


def test_expired_token_is_rejected(alice):
    token = alice.token(iat=now() - 7200, exp=now() - 3600)
    assert_rejected(ApiClient(token).get("/users"), "token_expired")


def sign(alice, claims: dict) -> str:
    return jwt.encode(claims, alice.private_pem, algorithm="RS256", headers={"kid": alice.certificate.kid})


def test_missing_exp_is_rejected(alice):
    assert_rejected(ApiClient(sign(alice, {"iat": now()})).get("/users"), "missing_exp")


def test_missing_iat_is_rejected(alice):
    assert_rejected(ApiClient(sign(alice, {"exp": now() + 60})).get("/users"), "missing_iat")


def test_iat_in_the_future_beyond_leeway_is_rejected(alice):
    token = sign(alice, {"iat": now() + 600, "exp": now() + 1200})
    assert_rejected(ApiClient(token).get("/users"), "token_not_yet_valid")


def test_iat_slightly_in_the_future_is_within_leeway(alice):
    token = sign(alice, {"iat": now() + 20, "exp": now() + 1200})
    assert ApiClient(token).get("/users").status_code == 200


def test_lifetime_over_24_hours_is_rejected(alice):
    token = sign(alice, {"iat": now(), "exp": now() + 24 * 3600 + 1})
    assert_rejected(ApiClient(token).get("/users"), "token_lifetime_too_long")


def test_lifetime_of_exactly_24_hours_is_accepted(alice):
    assert ApiClient(sign(alice, {"iat": now(), "exp": now() + 24 * 3600})).get("/users").status_code == 200


def test_string_dates_are_malformed(alice):
    assert_rejected(ApiClient(sign(alice, {"iat": "yesterday", "exp": now() + 60})).get("/users"),
                    "malformed_token")


@override_settings(TSKR_JWT_AUDIENCE="https://api.tskr.ai")
def test_aud_must_match_the_configured_audience_when_present(alice):
    assert_rejected(ApiClient(sign(alice, {"iat": now(), "exp": now() + 60, "aud": "https://evil.example"}))
                    .get("/users"), "invalid_audience")
    assert ApiClient(sign(alice, {"iat": now(), "exp": now() + 60, "aud": "https://api.tskr.ai"})).get(
        "/users").status_code == 200
    assert ApiClient(sign(alice, {"iat": now(), "exp": now() + 60, "aud": ["x", "https://api.tskr.ai"]})).get(
        "/users").status_code == 200
    assert ApiClient(sign(alice, {"iat": now(), "exp": now() + 60})).get("/users").status_code == 200


def test_aud_is_rejected_when_no_audience_is_configured(alice):
    assert_rejected(ApiClient(sign(alice, {"iat": now(), "exp": now() + 60, "aud": "anything"})).get("/users"),
                    "invalid_audience")


@pytest.mark.parametrize("email", ["not-an-email", 42, ""])
def test_invalid_email_claim_is_rejected(alice, email):
    assert_rejected(ApiClient(sign(alice, {"iat": now(), "exp": now() + 60, "email": email})).get("/users"),
                    "invalid_email_claim")


def test_inactive_user_gets_403(alice):
    User.objects.filter(id=alice.user.id).update(status=User.Status.INACTIVE)
    response = alice.client.get("/users")
    assert response.status_code == 403
    assert response.json()["error_code"] == "user_inactive"


def test_a_user_deactivated_through_the_api_is_refused_at_once_despite_the_user_cache(alice, manager):
    assert alice.client.get("/users").status_code == 200  # the user is now cached in this process
    response = manager.client.put(f"/users/{alice.user.id}", {"status": "inactive"})
    assert response.status_code == 200, response.json()
    assert alice.client.get("/users").json()["error_code"] == "user_inactive"


def test_a_user_changed_by_another_process_is_seen_within_the_cache_period(alice, settings):
    settings.TSKR_CERTIFICATE_CACHE_SECONDS = 1
    assert alice.client.get("/users").status_code == 200
    # another server process's write: the database changes, this process's cache is not told
    User.objects.filter(id=alice.user.id).update(status=User.Status.INACTIVE)
    assert alice.client.get("/users").status_code == 200  # still cached here
    time.sleep(1.05)
    assert alice.client.get("/users").json()["error_code"] == "user_inactive"


def test_a_cached_delegated_user_costs_no_query_and_each_request_gets_its_own_copy(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.authentication import delegated_user_cache

    alice.user  # provisioned
    client = alice.client
    with CaptureQueriesContext(connection) as first:
        assert client.get("/memories").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/memories").status_code == 200
    assert any('"accounts_user"' in query["sql"] for query in first.captured_queries)
    assert [query["sql"] for query in second.captured_queries if "accounts_" in query["sql"]] == []
    first = delegated_user_cache.get_or_provision(account=alice.account, email="alice@acme.test", first_name="",
                                                  last_name="")
    first.first_name = "Changed by one request"
    first.account = Account(id="acc_elsewhere", name="Elsewhere")  # a related object, kept in _state
    second = delegated_user_cache.get_or_provision(account=alice.account, email="alice@acme.test", first_name="",
                                                   last_name="")
    assert second.pk == first.pk and second.first_name == "Alice"
    assert second.account_id == alice.account.id and second.account.name == "Acme"
    assert second._state is not first._state and second._state.fields_cache is not first._state.fields_cache


def test_certificate_last_used_is_recorded(alice):
    assert alice.certificate.last_used_at is None
    alice.client.get("/users")
    alice.certificate.refresh_from_db()
    assert alice.certificate.last_used_at is not None


def test_a_revoked_certificate_does_not_affect_other_certificates_of_the_account(alice):
    other, _ = make_certificate(alice.account)
    certificate_revoke(kid=other.kid)
    assert alice.client.get("/users").status_code == 200


def test_a_token_seen_before_skips_verification_but_not_expiry_or_revocation(alice, settings):
    from accounts.authentication import verified_tokens

    settings.TSKR_JWT_LEEWAY_SECONDS = 0
    token = sign(alice, {"iat": now(), "exp": now() + 2, "email": "alice@acme.test"})
    assert ApiClient(token).get("/users").status_code == 200
    seen = verified_tokens.get(token)
    assert seen.kid == alice.certificate.kid and seen.identity == ("alice@acme.test", "", "")
    claims = seen.claims
    assert ApiClient(token).get("/users").status_code == 200  # from the cache
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert_rejected(ApiClient(tampered).get("/users"), "invalid_signature")
    time.sleep(max(0.0, claims["exp"] - time.time()) + 0.05)
    assert_rejected(ApiClient(token).get("/users"), "token_expired")
    revoked = alice.token()
    assert ApiClient(revoked).get("/users").status_code == 200
    certificate_revoke(kid=alice.certificate.kid)
    assert_rejected(ApiClient(revoked).get("/users"), "certificate_revoked")


@pytest.mark.parametrize("header", [b"[1, 2]", b"\xff\xfe{", b'{"alg": "RS256", "kid": ', b""])
def test_a_header_that_is_not_a_json_object_is_malformed(alice, header):
    _, claims, signature = alice.token().split(".")
    assert_rejected(ApiClient(f"{b64(header)}.{claims}.{signature}").get("/users"), "malformed_token")


def test_a_token_without_a_signature_segment_is_malformed(alice):
    header, claims, _ = alice.token().split(".")
    assert_rejected(ApiClient(f"{header}.{claims}").get("/users"), "malformed_token")


@pytest.mark.parametrize("kid", ["\udfff", "kid\x00", "k\ud800id"])
def test_a_kid_holding_a_lone_surrogate_or_a_nul_is_malformed_not_a_500(alice, kid):
    token = unsigned_token({"alg": "RS256", "kid": kid}, {"iat": now(), "exp": now() + 60})
    assert_rejected(ApiClient(token).get("/users"), "malformed_token")


@pytest.mark.parametrize("claims", [{"email": "a\udfff@acme.test"}, {"email": "alice@acme.test", "firstName": "\x00"},
                                    {"email": "alice@acme.test", "lastName": "\ud83d"}, {"note": ["\x00"]},
                                    {"\udfff": 1}])
def test_a_claim_holding_a_lone_surrogate_or_a_nul_is_malformed_not_a_500(alice, claims):
    token = sign(alice, {"iat": now(), "exp": now() + 60, **claims})
    assert_rejected(ApiClient(token).get("/memories"), "malformed_token")
    assert not User.objects.filter(account=alice.account).exists()


@pytest.mark.parametrize("leeway", [0, 60, 3600])
def test_exp_earlier_than_iat_is_an_invalid_lifetime_whatever_the_leeway(alice, settings, leeway):
    settings.TSKR_JWT_LEEWAY_SECONDS = leeway
    token = sign(alice, {"iat": now(), "exp": now() - 1})
    assert_rejected(ApiClient(token).get("/users"), "invalid_token_lifetime")
    long_past = sign(alice, {"iat": now() - 60, "exp": now() - 7200})
    assert_rejected(ApiClient(long_past).get("/users"), "invalid_token_lifetime")


def test_exp_within_the_leeway_is_still_accepted_and_beyond_it_expired(alice, settings):
    settings.TSKR_JWT_LEEWAY_SECONDS = 60
    assert ApiClient(sign(alice, {"iat": now() - 120, "exp": now() - 30})).get("/users").status_code == 200
    assert_rejected(ApiClient(sign(alice, {"iat": now() - 300, "exp": now() - 90})).get("/users"), "token_expired")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("tamper", [
    lambda segment: segment[:-4] + "!!!!",  # outside the base64url alphabet
    lambda segment: "+" + segment[1:],  # standard base64, not base64url
    lambda segment: segment + "=",  # padding that does not make a whole quantum
    # the same bytes with a bit set in the unused tail (342 characters: the last one carries 2 bits)
    lambda segment: segment[:-1] + _ALPHABET[_ALPHABET.index(segment[-1]) ^ 1],
])
def test_a_signature_segment_that_is_not_canonical_base64url_is_malformed(alice, tamper):
    header, claims, signature = alice.token().split(".")
    assert len(signature) % 4 == 2
    assert_rejected(ApiClient(f"{header}.{claims}.{tamper(signature)}").get("/users"), "malformed_token")


def test_a_signature_padded_to_a_whole_quantum_still_verifies(alice):
    header, claims, signature = alice.token().split(".")
    padded = signature + "=" * (-len(signature) % 4)
    assert padded != signature  # 256 bytes of RSA-2048 signature: 342 characters, two '=' make 344
    assert ApiClient(f"{header}.{claims}.{padded}").get("/users").status_code == 200


def test_a_not_before_in_the_future_or_not_a_number_is_refused(alice):
    assert_rejected(ApiClient(sign(alice, {"iat": now(), "exp": now() + 600, "nbf": now() + 300})).get("/users"),
                    "token_not_yet_valid")
    assert_rejected(ApiClient(sign(alice, {"iat": now(), "exp": now() + 600, "nbf": "soon"})).get("/users"),
                    "malformed_token")
    assert ApiClient(sign(alice, {"iat": now(), "exp": now() + 600, "nbf": now() - 5})).get("/users").status_code == 200


def test_a_header_with_critical_extensions_is_malformed(alice):
    claims = {"iat": now(), "exp": now() + 600}
    for extra in ({"crit": ["exp"], "exp": 1}, {"crit": ["b64"], "b64": False}):
        token = jwt.encode(claims, alice.private_pem, algorithm="RS256",
                           headers={"kid": alice.certificate.kid, **extra})
        assert_rejected(ApiClient(token).get("/users"), "malformed_token")
