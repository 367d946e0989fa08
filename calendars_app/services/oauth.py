"""Writes for OAuth grants: the authorization-code flow, tokens posted by an integrator, revocation.

Tokens are encrypted before they reach the database (`calendars_app.crypto`) and never leave it in
a response, a log line or the admin.
"""
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from urllib.parse import urlencode

from accounts.models import Account
from directory.models import UserIdentifier
from tskr.emails import normalize_email
from tskr.exceptions import ApplicationError, BadRequest, NotFound, ServiceUnavailable

from .. import crypto
from ..models import OAuthAccess
from ..providers.base import (
    ACCESS_NAMES, ProviderRejected, ProviderUnavailable, ReconsentRequired, TokenSet, exchange_code, provider_config,
    revoke_token,
)

STATE_SALT = "calendars_app.oauth.state"
STATE_MAX_AGE_SECONDS = 600
DEFAULT_ACCESS = ["calendars.read"]


def redirect_uri(platform: str) -> str:
    return f"{settings.TSKR_PUBLIC_URL}/oauth/{platform}/callback"


def granted_access(identifier: UserIdentifier, platform: str) -> list[str]:
    """The identifier's `platforms.<platform>.accessGranted` (our names: calendars.read, contacts.read...)."""
    entry = (identifier.platforms or {}).get(platform) or {}
    granted = entry.get("accessGranted") if isinstance(entry, dict) else None
    return [name for name in granted if isinstance(name, str)] if isinstance(granted, list) else []


@transaction.atomic
def identifier_platform_flags_set(*, identifier_id: str, platform: str, **flags) -> None:
    """Record our bookkeeping (`connected`, `needsReconsent`...) inside `platforms.<platform>`, under a row
    lock so a concurrent identifier update is not overwritten with a stale copy."""
    identifier = UserIdentifier.objects.select_for_update().filter(id=identifier_id).first()
    if identifier is None:
        return
    entry = dict((identifier.platforms or {}).get(platform) or {})
    if all(entry.get(key) == value for key, value in flags.items()):
        return
    entry.update(flags)
    identifier.platforms = {**(identifier.platforms or {}), platform: entry}
    identifier.save(update_fields=["platforms", "updated_at"])


def oauth_connect_start(*, account: Account, identifier: UserIdentifier, platform: str,
                        access: list[str] | None = None) -> dict:
    """The provider's consent URL for this identifier, carrying a signed state that expires in 10 minutes.

    The state names the identifier and its user: the callback completes only while the identifier still
    belongs to that user. `access` (our names) defaults to the identifier's `accessGranted`, else
    calendars.read.
    """
    config = provider_config(platform)
    if not config.client_id:
        # A 400, not a 503: nothing will change by retrying, and the integrator has another way in.
        raise BadRequest(f"The authorization-code flow for {platform} is not configured on this server; "
                         f"post tokens you hold with PUT /identifiers/:id/oauth/{platform} instead",
                         error_code="oauth_not_configured")
    access = access or granted_access(identifier, platform) or DEFAULT_ACCESS
    access = [name for name in dict.fromkeys(access) if name in ACCESS_NAMES]
    state = signing.dumps({"acc": account.id, "idf": identifier.id, "usr": identifier.user_id, "plt": platform,
                           "acs": access,
                           "non": secrets.token_urlsafe(16)}, salt=STATE_SALT)
    query = {"client_id": config.client_id, "redirect_uri": redirect_uri(platform), "response_type": "code",
             "scope": " ".join(config.provider_scopes(access)), "state": state, **config.authorize_params}
    return {"authUrl": f"{config.authorize_url}?{urlencode(query)}", "platform": platform,
            "identifierId": identifier.id, "access": access,
            "expiresAt": timezone.now() + timedelta(seconds=STATE_MAX_AGE_SECONDS)}


def _read_state(state: str, platform: str) -> dict:
    try:
        payload = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise BadRequest("The OAuth state has expired; start the connection again",
                         error_code="oauth_state_expired") from None
    except signing.BadSignature:
        raise BadRequest("The OAuth state is not valid", error_code="invalid_oauth_state") from None
    if payload.get("plt") != platform:
        raise BadRequest("The OAuth state was issued for another platform", error_code="invalid_oauth_state")
    # One use per state: a replayed callback URL cannot overwrite the grant.
    if not cache.add(f"calendars_app:oauth-state:{payload['non']}", 1, STATE_MAX_AGE_SECONDS):
        raise BadRequest("The OAuth state has already been used", error_code="oauth_state_used")
    return payload


def oauth_callback_complete(*, platform: str, code: str, state: str, error: str = "") -> OAuthAccess:
    """Finish the authorization-code flow: check the state, exchange the code, store the tokens.

    The state (signed by us) names the account, the identifier and its user; the callback itself is
    unauthenticated. It completes only for that identifier while that user still holds it, and for an
    email identifier only when the consenting account's address is the identifier's value.
    """
    payload = _read_state(state, platform)
    if error:
        raise BadRequest(f"The provider reported '{error}': access was not granted", error_code="oauth_access_denied")
    if not code:
        raise BadRequest("The callback carries no authorization code", error_code="oauth_code_missing")
    identifier = UserIdentifier.objects.filter(id=payload["idf"], account_id=payload["acc"]).first()
    if identifier is None:
        raise NotFound("The identifier no longer exists", error_code="not_found")
    if identifier.user_id != payload.get("usr"):
        raise BadRequest("The identifier changed owner since the connection started; start it again",
                         error_code="invalid_oauth_state")
    try:
        tokens = exchange_code(provider_config(platform), code=code, redirect_uri=redirect_uri(platform))
    except ReconsentRequired:
        raise BadRequest("The provider refused the authorization code (expired or already used)",
                         error_code="oauth_code_rejected") from None
    except ProviderUnavailable as exc:
        raise ServiceUnavailable(str(exc), error_code="provider_unavailable") from None
    except ProviderRejected as exc:
        raise ApplicationError(str(exc), error_code="oauth_exchange_failed", status_code=502) from None
    if identifier.type == UserIdentifier.Type.EMAIL and tokens.account_email != identifier.value:
        # Whoever opened the consent link must be the identifier's owner: otherwise a link consented by
        # someone else would sync their calendars and contacts into this identifier's user.
        raise BadRequest(f"The {platform} account that consented is not {identifier.value}",
                         error_code="oauth_account_mismatch")
    access = _access_store(identifier=identifier, platform=platform, tokens=tokens)
    if not granted_access(identifier, platform):
        identifier_platform_flags_set(identifier_id=identifier.id, platform=platform, accessGranted=payload["acs"])
    return access


@transaction.atomic
def _access_store(*, identifier: UserIdentifier, platform: str, tokens: TokenSet) -> OAuthAccess:
    access = OAuthAccess.objects.select_for_update().filter(identifier=identifier, platform=platform).first()
    if access is None:
        access = OAuthAccess(account_id=identifier.account_id, identifier=identifier, platform=platform)
    access.access_token_encrypted = crypto.encrypt(tokens.access_token)
    if tokens.refresh_token:
        access.refresh_token_encrypted = crypto.encrypt(tokens.refresh_token)
    access.expires_at = tokens.expires_at
    access.scopes = tokens.scopes
    access.status = OAuthAccess.Status.ACTIVE
    access.last_error = ""
    access.save()
    identifier_platform_flags_set(identifier_id=identifier.id, platform=platform, connected=True,
                                  needsReconsent=False)
    return access


def oauth_access_set(*, account: Account, identifier: UserIdentifier, platform: str, access_token: str,
                     refresh_token: str = "", expires_at: datetime | None = None,
                     scopes: list[str] | None = None) -> OAuthAccess:
    """Store tokens an integrator already holds (replacing any earlier ones; a new grant is active again)."""
    tokens = TokenSet(access_token=access_token, refresh_token=refresh_token, expires_at=expires_at,
                      scopes=list(scopes or []))
    return _access_store(identifier=identifier, platform=platform, tokens=tokens)


def oauth_access_get(*, account: Account, identifier: UserIdentifier, platform: str) -> OAuthAccess:
    access = OAuthAccess.objects.filter(account=account, identifier=identifier, platform=platform).first()
    if access is None:
        raise NotFound(f"No {platform} OAuth access for this identifier", error_code="oauth_access_not_found")
    return access


def oauth_access_revoke(*, account: Account, identifier: UserIdentifier, platform: str) -> str:
    """Revoke the grant at the provider (best effort: Google only) and forget the tokens.

    Synced calendars stay listed (with their last data) until the identifier syncs again or is deleted.
    """
    access = oauth_access_get(account=account, identifier=identifier, platform=platform)
    revoke_token(provider_config(platform), token=access.refresh_token or access.access_token)
    access_id = access.id
    with transaction.atomic():
        access.delete()
        identifier_platform_flags_set(identifier_id=identifier.id, platform=platform, connected=False)
    return access_id


def oauth_tokens_reencrypt() -> int:
    """Re-encrypt every stored token with the newest key of TSKR_ENCRYPTION_KEYS (key rotation)."""
    count = 0
    for access_id in OAuthAccess.objects.values_list("id", flat=True).iterator():
        with transaction.atomic():
            # Row lock: a concurrent token refresh must not be overwritten with the re-encrypted old token.
            access = OAuthAccess.objects.select_for_update().filter(id=access_id).first()
            if access is None:
                continue
            access.access_token_encrypted = crypto.reencrypt(access.access_token_encrypted)
            if access.refresh_token_encrypted:
                access.refresh_token_encrypted = crypto.reencrypt(access.refresh_token_encrypted)
            access.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
        count += 1
    return count
