"""HTTP to the OAuth providers: the token endpoint, and authorized API calls with refresh, bounded
retries and a host allow-list. Nothing here touches the database; callers pass callbacks.

Every address comes from settings (GOOGLE_*_URL, MICROSOFT_*_URL) so tests and staging point elsewhere.
"""
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import jwt
from django.conf import settings
from django.utils import timezone

from tskr.emails import normalize_email

logger = logging.getLogger("calendars_app.providers")

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_SECONDS = 30.0
#: Refresh a little before the provider's expiry so a token never dies mid-request.
EXPIRY_MARGIN = timedelta(seconds=60)
_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


class ProviderError(Exception):
    """A provider call failed; `code` is the snake_case code reported in sync results."""

    code = "provider_error"


class ProviderUnavailable(ProviderError):
    """Transient: network failure, 5xx, or still throttled after the bounded retries. Retry later."""

    code = "provider_unavailable"


class ProviderRejected(ProviderError):
    """Permanent for this request (403 without rate limiting, 404, 400...): retrying will not help."""

    code = "provider_rejected"


class ReconsentRequired(ProviderError):
    """The refresh token is gone or refused (`invalid_grant`): only the user consenting again fixes it."""

    code = "oauth_reconsent_required"


class NotWritable(ProviderRejected):
    """The provider refused a write for permissions (403): a read-only calendar or a grant without the write scope."""

    code = "calendar_not_writable"


class AlreadyExists(ProviderRejected):
    """A create named an id the provider already has (Google's 409 for a client-chosen event id)."""

    code = "already_exists"


class EventGone(ProviderRejected):
    """The event a write names no longer exists at the provider (404 or 410)."""

    code = "event_gone"


class SyncTokenExpired(ProviderError):
    """The provider no longer knows the sync token or delta link (HTTP 410): resync from scratch."""

    code = "sync_token_expired"


class UnsafeLink(ProviderError):
    """A paging or delta link pointing outside the provider's configured API host (refused: no SSRF)."""

    code = "unsafe_provider_link"


@dataclass(frozen=True)
class ProviderConfig:
    platform: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    api_urls: tuple[str, ...]
    #: our access names (identifier `platforms.*.accessGranted`) -> the provider's scope
    scope_map: dict[str, str]
    base_scopes: tuple[str, ...] = ()
    authorize_params: dict = field(default_factory=dict)

    def provider_scopes(self, access_names: list[str]) -> list[str]:
        return list(self.base_scopes) + [self.scope_map[name] for name in access_names if name in self.scope_map]


ACCESS_NAMES = ("calendars.read", "calendars.write", "contacts.read")


def provider_config(platform: str) -> ProviderConfig:
    """Read at call time, so `settings` overrides in tests apply."""
    if platform == "google":
        return ProviderConfig(
            platform="google", client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
            client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET, authorize_url=settings.GOOGLE_OAUTH_AUTHORIZE_URL,
            token_url=settings.GOOGLE_OAUTH_TOKEN_URL, revoke_url=settings.GOOGLE_OAUTH_REVOKE_URL,
            api_urls=(settings.GOOGLE_CALENDAR_API_URL, settings.GOOGLE_PEOPLE_API_URL),
            scope_map={"calendars.read": "https://www.googleapis.com/auth/calendar.readonly",
                       "calendars.write": "https://www.googleapis.com/auth/calendar",
                       "contacts.read": "https://www.googleapis.com/auth/contacts.readonly"},
            base_scopes=("openid", "email"),
            # offline + consent: Google only returns a refresh token when asked like this.
            authorize_params={"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
        )
    if platform == "azure":
        return ProviderConfig(
            platform="azure", client_id=settings.MICROSOFT_OAUTH_CLIENT_ID,
            client_secret=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
            authorize_url=settings.MICROSOFT_OAUTH_AUTHORIZE_URL, token_url=settings.MICROSOFT_OAUTH_TOKEN_URL,
            revoke_url="", api_urls=(settings.MICROSOFT_GRAPH_API_URL,),
            scope_map={"calendars.read": "Calendars.Read", "calendars.write": "Calendars.ReadWrite",
                       "contacts.read": "Contacts.Read"},
            base_scopes=("openid", "email", "offline_access", "User.Read"),
            authorize_params={"response_mode": "query"},
        )
    raise ValueError(f"unknown platform {platform!r}")


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str  # empty when the provider did not send one (Google keeps the old one valid)
    expires_at: datetime | None
    scopes: list[str]
    account_email: str = ""  # whose consent this is, from the OpenID id_token (code exchange only)


def _id_token_email(raw) -> str:
    """The consenting account's email from an OpenID Connect id_token.

    The token comes straight from the provider's token endpoint over TLS, which OpenID Connect Core
    3.1.3.7 accepts in place of checking its signature; it is only read, never trusted for anything else.
    """
    if not isinstance(raw, str) or not raw:
        return ""
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return ""
    email = claims.get("email") or claims.get("preferred_username") or ""
    return normalize_email(email) if isinstance(email, str) else ""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def is_allowed_link(url: str, config: ProviderConfig) -> bool:
    """A link may be followed only on the scheme, host and port of one of the provider's API base URLs."""
    return _origin(url) in {_origin(base) for base in config.api_urls}


def _retry_after(response: httpx.Response, attempt: int) -> float:
    raw = response.headers.get("retry-after", "").strip()
    delay = None
    if raw.isdigit():
        delay = float(raw)
    elif raw:
        try:
            delay = (parsedate_to_datetime(raw) - timezone.now()).total_seconds()
        except (TypeError, ValueError):
            delay = None
    if delay is None:
        delay = 0.5 * 2 ** attempt + random.uniform(0, 0.5)
    return min(max(delay, 0.0), MAX_RETRY_AFTER_SECONDS)


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    error = _json(response).get("error")
    if not isinstance(error, dict):
        return False
    reasons = {item.get("reason") for item in error.get("errors", []) if isinstance(item, dict)}
    return bool(reasons & _RATE_LIMIT_REASONS) or error.get("code") in {"TooManyRequests", "ApplicationThrottled"}


def _token_request(config: ProviderConfig, data: dict) -> TokenSet:
    payload = {"client_id": config.client_id, "client_secret": config.client_secret, **data}
    try:
        response = httpx.post(config.token_url, data=payload, timeout=TIMEOUT,
                              headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"{config.platform} token endpoint unreachable: {exc.__class__.__name__}") from None
    body = _json(response)
    if response.status_code >= 500:
        raise ProviderUnavailable(f"{config.platform} token endpoint answered {response.status_code}")
    if response.status_code != 200:
        if body.get("error") == "invalid_grant":
            raise ReconsentRequired(f"{config.platform} refused the grant (invalid_grant); the user must consent again")
        raise ProviderRejected(f"{config.platform} token endpoint answered {response.status_code} "
                               f"({body.get('error', 'unknown error')})")
    if not body.get("access_token"):
        raise ProviderRejected(f"{config.platform} token endpoint sent no access_token")
    expires_in = body.get("expires_in")
    expires_at = timezone.now() + timedelta(seconds=int(expires_in)) if str(expires_in or "").isdigit() else None
    return TokenSet(access_token=body["access_token"], refresh_token=body.get("refresh_token") or "",
                    expires_at=expires_at, scopes=(body.get("scope") or "").split(),
                    account_email=_id_token_email(body.get("id_token")))


def exchange_code(config: ProviderConfig, *, code: str, redirect_uri: str) -> TokenSet:
    return _token_request(config, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})


def refresh_tokens(config: ProviderConfig, *, refresh_token: str) -> TokenSet:
    return _token_request(config, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def revoke_token(config: ProviderConfig, *, token: str) -> bool:
    """Best effort (Google only; Microsoft has no revocation endpoint for a single grant)."""
    if not config.revoke_url:
        return False
    try:
        response = httpx.post(config.revoke_url, data={"token": token}, timeout=TIMEOUT)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


_shared_client: httpx.Client | None = None
_shared_client_guard = threading.Lock()


def shared_client() -> httpx.Client:
    """One pooled client per process, for the short sessions of request handlers (booking): creating a
    client builds a TLS context, which costs more than all the rest of a booking (bench/README.md)."""
    global _shared_client
    with _shared_client_guard:
        if _shared_client is None:
            _shared_client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        return _shared_client


class ApiSession:
    """Authorized GETs to one provider for one grant.

    Steps of a call: refuse a URL off the API hosts; refresh the access token when it is (nearly)
    expired; send; on 401 refresh once and resend; on 429 or a rate-limit 403 (or 5xx) wait as
    Retry-After says (bounded) and resend, at most MAX_ATTEMPTS times; 410 means the sync cursor expired.
    `on_refresh` persists new tokens at once (Microsoft rotates the refresh token on every use);
    `heartbeat` runs before every request (the sync lock's keep-alive).
    """

    def __init__(self, config: ProviderConfig, *, access_token: str, refresh_token: str,
                 expires_at: datetime | None, on_refresh: Callable[[TokenSet], None],
                 heartbeat: Callable[[], None] | None = None, client: httpx.Client | None = None):
        self.config = config
        self.access_token, self.refresh_token, self.expires_at = access_token, refresh_token, expires_at
        self.on_refresh = on_refresh
        self.heartbeat = heartbeat or (lambda: None)
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def _refresh(self) -> None:
        if not self.refresh_token:
            raise ReconsentRequired(f"{self.config.platform} access expired and there is no refresh token")
        tokens = refresh_tokens(self.config, refresh_token=self.refresh_token)
        self.on_refresh(tokens)
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token or self.refresh_token
        self.expires_at = tokens.expires_at

    def get(self, url: str, params: dict | None = None, headers: dict | None = None) -> dict:
        if not is_allowed_link(url, self.config):
            raise UnsafeLink(f"refused to follow a {self.config.platform} link outside its API host")
        if self.expires_at is not None and self.expires_at - EXPIRY_MARGIN <= timezone.now():
            self._refresh()
        refreshed = False
        for attempt in range(MAX_ATTEMPTS):
            self.heartbeat()
            try:
                response = self.client.get(url, params=params, headers={
                    **(headers or {}), "Authorization": f"Bearer {self.access_token}", "Accept": "application/json"})
            except httpx.HTTPError as exc:
                logger.warning("%s request failed: %s", self.config.platform, exc.__class__.__name__)
                if attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(min(0.5 * 2 ** attempt + random.uniform(0, 0.5), MAX_RETRY_AFTER_SECONDS))
                continue
            status = response.status_code
            if status == 200:
                return _json(response)
            if status == 401 and not refreshed:
                refreshed = True
                self._refresh()
                continue
            if status == 401:
                raise ReconsentRequired(f"{self.config.platform} rejected a freshly refreshed access token")
            if status == 410 or (status == 400 and "EXPIRED_SYNC_TOKEN" in response.text):
                raise SyncTokenExpired(f"{self.config.platform} sync token expired")
            if _is_rate_limited(response) or status >= 500:
                delay = _retry_after(response, attempt)
                logger.info("%s answered %s; retrying in %.1fs", self.config.platform, status, delay)
                if attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(delay)
                continue
            raise ProviderRejected(f"{self.config.platform} answered {status} for {urlsplit(url).path}")
        raise ProviderUnavailable(f"{self.config.platform} still failing after {MAX_ATTEMPTS} attempts")

    def send(self, method: str, url: str, *, json: dict | None = None, params: dict | None = None) -> dict:
        """One authorized write (POST, PATCH, DELETE), for booking.

        Unlike `get`, a 5xx, a timeout or a network failure is not retried here: the write may have
        happened, and the caller's periodic sweep repeats it with the same idempotent ids. An expired
        token is refreshed first, and a 401 refreshes once and resends; 403 (not for rate limiting) is
        `NotWritable`, 409 `AlreadyExists`, 404 and 410 `EventGone`, anything else `ProviderRejected`.
        """
        if not is_allowed_link(url, self.config):
            raise UnsafeLink(f"refused to call a {self.config.platform} URL outside its API host")
        if self.expires_at is not None and self.expires_at - EXPIRY_MARGIN <= timezone.now():
            self._refresh()
        timeout = httpx.Timeout(settings.TSKR_BOOKING_PROVIDER_TIMEOUT_SECONDS, connect=5.0)
        for refreshed in (False, True):
            try:
                response = self.client.request(method, url, json=json, params=params, timeout=timeout, headers={
                    "Authorization": f"Bearer {self.access_token}", "Accept": "application/json"})
            except httpx.HTTPError as exc:
                raise ProviderUnavailable(f"{self.config.platform} {method} failed: {exc.__class__.__name__}") from None
            status = response.status_code
            if status == 401 and not refreshed:
                self._refresh()
                continue
            break
        path = urlsplit(url).path
        if status in (200, 201, 202, 204):
            return _json(response)
        if status == 401:
            raise ReconsentRequired(f"{self.config.platform} rejected a freshly refreshed access token")
        if status == 409:
            raise AlreadyExists(f"{self.config.platform} already has this event")
        if _is_rate_limited(response) or status >= 500:
            raise ProviderUnavailable(f"{self.config.platform} answered {status} for {method} {path}")
        if status == 403:
            raise NotWritable(f"{self.config.platform} refused to write to this calendar (403)")
        if status in (404, 410):
            raise EventGone(f"{self.config.platform} answered {status} for {method} {path}")
        raise ProviderRejected(f"{self.config.platform} answered {status} for {method} {path}")
