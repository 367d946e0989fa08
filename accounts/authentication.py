"""Certificate-based JWT authentication (contract: "Authentication").

The token's unverified header is read only to find `kid`; everything else is verified with the
certificate's RSA public key, RS256 only. Header fields such as `jku`, `x5u` or `jwk` are ignored
and never fetched. Each rejection has its own `error_code` so an integrator can tell them apart.
"""
import base64
import binascii
import json
import re
import threading
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.base import ModelState
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from tskr.api.principal import Principal
from tskr.emails import normalize_email
from tskr.exceptions import Forbidden

from .models import Certificate


class TokenRejected(exceptions.AuthenticationFailed):
    """A 401 carrying a specific `error_code`."""

    def __init__(self, message: str, error_code: str):
        super().__init__(message)
        self.error_code = error_code


@dataclass(frozen=True)
class _CertificateEntry:
    certificate_id: str
    account: object
    public_key: RSAPublicKey | None
    revoked: bool
    loaded_at: float


class CertificateCache:
    """Process-local cache of parsed public keys by kid.

    An entry is trusted for TSKR_CERTIFICATE_CACHE_SECONDS (default 5): that bounds how long a
    revoked certificate keeps working on any server process, with no cross-process signalling.
    Unknown kids are cached too, so a flood of bogus kids costs one query per kid per period.
    """

    def __init__(self):
        self._entries: dict[str, _CertificateEntry | None] = {}
        self._loaded_at: dict[str, float] = {}
        self._last_touch: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, kid: str) -> _CertificateEntry | None:
        now = time.monotonic()
        ttl = settings.TSKR_CERTIFICATE_CACHE_SECONDS
        if kid in self._entries and now - self._loaded_at[kid] < ttl:
            return self._entries[kid]
        entry = self._load(kid, now)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
                self._loaded_at.clear()
            self._entries[kid] = entry
            self._loaded_at[kid] = now
        return entry

    @staticmethod
    def _load(kid: str, now: float) -> _CertificateEntry | None:
        certificate = Certificate.objects.select_related("account").filter(kid=kid).first()
        if certificate is None:
            return None
        try:
            key = load_pem_public_key(certificate.public_key_pem.encode())
        except ValueError:
            key = None
        if not isinstance(key, RSAPublicKey):
            key = None
        return _CertificateEntry(certificate.id, certificate.account, key,
                                 certificate.status == certificate.Status.REVOKED, now)

    def touch(self, entry: _CertificateEntry) -> None:
        """Record last use at most once a minute per certificate per process (not a write per request)."""
        now = time.monotonic()
        if now - self._last_touch.get(entry.certificate_id, -3600.0) < 60:
            return
        self._last_touch[entry.certificate_id] = now
        Certificate.objects.filter(id=entry.certificate_id).update(last_used_at=timezone.now())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._loaded_at.clear()
            self._last_touch.clear()


certificate_cache = CertificateCache()


def _own_copy(instance):
    """A copy of a model instance sharing no mutable state with it (what `copy.copy` of a model
    does through pickling's `__reduce__`, at a fraction of the cost)."""
    clone = instance.__class__.__new__(instance.__class__)
    clone.__dict__ = instance.__dict__.copy()
    clone._state = state = ModelState()
    state.__dict__.update(instance._state.__dict__)
    state.fields_cache = instance._state.fields_cache.copy()
    return clone


class DelegatedUserCache:
    """Process-local cache of the users of delegated tokens, by (account, email).

    Finding the user was a large share of an authenticated request's cost. An entry is trusted for the same
    TSKR_CERTIFICATE_CACHE_SECONDS as a certificate: a user's deactivation, deletion or email change
    made by another server process takes effect here within that time; the process that makes it
    drops its entries at commit (`forget_cached_user`). Each request gets its own copy of the row, so
    nothing one request sets on it is seen by another.
    """

    def __init__(self):
        self._entries: dict[tuple[str, str], tuple[object, float]] = {}
        self._lock = threading.Lock()

    def get_or_provision(self, *, account, email: str, first_name: str, last_name: str):
        from .services import user_get_or_provision  # services import this module's caches

        key = (account.pk, email)
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and now - cached[1] < settings.TSKR_CERTIFICATE_CACHE_SECONDS:
            return _own_copy(cached[0])
        user = user_get_or_provision(account=account, email=email, first_name=first_name, last_name=last_name)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (_own_copy(user), now)
        return user

    def forget(self, user_id: str) -> None:
        with self._lock:
            for key in [key for key, (user, _) in self._entries.items() if user.pk == user_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


delegated_user_cache = DelegatedUserCache()


def forget_cached_user(user) -> None:
    """Call from a service that changes or deletes a user: this process stops using its cached copy
    at once, and again at commit (a request may have cached the old row meanwhile); other processes
    within TSKR_CERTIFICATE_CACHE_SECONDS."""
    user_id = user.pk
    delegated_user_cache.forget(user_id)
    transaction.on_commit(lambda: delegated_user_cache.forget(user_id))


@dataclass(frozen=True)
class VerifiedToken:
    kid: str
    claims: dict
    identity: tuple[str, str, str] | None  # a delegated token's (email, first name, last name)


class VerifiedTokenCache:
    """Tokens this process has already verified, with their kid, claims and delegated identity.

    Integrators reuse a token for its lifetime, so most requests carry a token seen before: a repeat
    skips parsing and the RSA signature check. Its certificate (revocation) and its expiry are still
    checked on every request. Bounded: emptied when it holds MAX_TOKENS.
    """

    MAX_TOKENS = 10_000

    def __init__(self):
        self._entries: dict[str, VerifiedToken] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> VerifiedToken | None:
        return self._entries.get(token)

    def put(self, token: str, verified: VerifiedToken) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_TOKENS:
                self._entries.clear()
            self._entries[token] = verified

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_tokens = VerifiedTokenCache()


def _usable_certificate(kid: str) -> _CertificateEntry:
    entry = certificate_cache.get(kid)
    if entry is None or entry.public_key is None:
        raise TokenRejected("No certificate is registered for this kid", "unknown_kid")
    if entry.revoked:
        raise TokenRejected("The certificate for this kid has been revoked", "certificate_revoked")
    return entry


def _unverified_header(token: str) -> dict:
    """The JOSE header, read only to pick the certificate (kid) and refuse other algorithms early.
    Nothing read here is trusted: `_verified_claims` then checks the signature over the header exactly
    as sent, with the key of the kid found here."""
    try:
        header = json.loads(_segment_bytes(token.split(".", 1)[0]))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _malformed() from None
    if not isinstance(header, dict) or not _storable(header):
        raise _malformed()
    return header


#: A base64url segment without padding (RFC 7515 §2), up to two '=' that some issuers add.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _segment_bytes(segment: str) -> bytes:
    """A compact JWS segment decoded, refusing what is not canonical base64url (as PyJWT refuses it since
    GHSA-hxm8-2xgr-2p9m, but with one regular expression instead of a check per character)."""
    stripped = segment.rstrip("=")
    if (not _SEGMENT.fullmatch(segment) or len(stripped) % 4 == 1
            or (stripped != segment and len(segment) % 4)):
        raise _malformed()
    try:
        decoded = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise _malformed() from None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != stripped.encode():
        raise _malformed()
    return decoded


def _malformed() -> TokenRejected:
    return TokenRejected("The bearer token is not a well-formed JWT", "malformed_token")


def _verified_claims(token: str, header: dict, key: RSAPublicKey, *, leeway: float) -> dict:
    """The claims of an RS256 compact JWS whose signature `key` verifies, with the checks PyJWT's
    `jwt.decode` made (exp and iat required, nbf and iat not in the future), in its order: the segments
    well-formed, the signature, then the claims. Written over `cryptography` directly because PyJWT's
    per-character segment check was most of a new token's verification (bench/README.md)."""
    segments = token.split(".")
    if len(segments) != 3:
        raise _malformed()
    payload, signature = _segment_bytes(segments[1]), _segment_bytes(segments[2])
    # RFC 7515 §4.1.11: an extension marked critical must be understood, and we understand none (RFC
    # 7797's unencoded payloads, `b64`, among them)
    if "crit" in header or header.get("b64", True) is False:
        raise _malformed()
    try:
        key.verify(signature, f"{segments[0]}.{segments[1]}".encode("ascii"), PKCS1v15(), SHA256())
    except InvalidSignature:
        raise TokenRejected("The token signature does not verify", "invalid_signature") from None
    try:
        claims = json.loads(payload)
    except ValueError:
        raise _malformed() from None
    if not isinstance(claims, dict):
        raise TokenRejected("The token claims are malformed", "malformed_token")
    for claim in ("exp", "iat"):
        if claim not in claims:
            raise TokenRejected(f"The token has no {claim} claim", f"missing_{claim}")
    now = time.time()
    for claim in ("iat", "nbf"):
        value = claims.get(claim)
        if value is None and claim == "nbf":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TokenRejected("The token claims are malformed", "malformed_token")
        if value > now + leeway:
            raise TokenRejected("The token is not valid yet (iat or nbf in the future)", "token_not_yet_valid")
    return claims


def _storable(value) -> bool:
    """False when a string anywhere in a decoded JSON value holds a NUL or a lone surrogate (JSON allows
    both as escapes): no database accepts them, so a kid or a claim carrying one is malformed, not a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def verify_token(token: str) -> tuple[_CertificateEntry, VerifiedToken]:
    leeway = settings.TSKR_JWT_LEEWAY_SECONDS
    seen = verified_tokens.get(token)
    if seen is not None:
        entry = _usable_certificate(seen.kid)
        if seen.claims["exp"] + leeway <= time.time():
            raise TokenRejected("The token has expired", "token_expired")
        return entry, seen
    header = _unverified_header(token)
    if header.get("alg") != "RS256":
        raise TokenRejected("Only RS256-signed tokens are accepted", "unsupported_algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("The token header has no kid", "missing_kid")
    entry = _usable_certificate(kid)
    claims = _verified_claims(token, header, entry.public_key, leeway=leeway)

    if not _storable(claims):
        raise TokenRejected("The token claims hold a NUL or an unpaired surrogate", "malformed_token")
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
        raise TokenRejected("iat and exp must be numeric dates", "malformed_token")
    if exp < iat:
        raise TokenRejected("The token's exp is earlier than its iat", "invalid_token_lifetime")
    if exp + leeway <= time.time():
        raise TokenRejected("The token has expired", "token_expired")
    if exp - iat > settings.TSKR_JWT_MAX_LIFETIME_SECONDS:
        raise TokenRejected("The token lifetime (exp - iat) is longer than 24 hours", "token_lifetime_too_long")
    if "aud" in claims:
        audience = settings.TSKR_JWT_AUDIENCE
        values = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if not audience or audience not in values:
            raise TokenRejected("The token's aud is not this API", "invalid_audience")
    verified = VerifiedToken(kid, claims, _delegated_identity(claims))
    verified_tokens.put(token, verified)
    return entry, verified


def _delegated_identity(claims: dict) -> tuple[str, str, str] | None:
    email = claims.get("email")
    if email is None:
        return None
    if not isinstance(email, str):
        raise TokenRejected("The email claim must be a string", "invalid_email_claim")
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise TokenRejected("The email claim is not a valid email address", "invalid_email_claim") from None
    first, last = claims.get("firstName") or "", claims.get("lastName") or ""
    if not isinstance(first, str) or not isinstance(last, str):
        raise TokenRejected("firstName and lastName must be strings", "malformed_token")
    return email, first.strip()[:150], last.strip()[:150]


def is_super_admin_email(email: str) -> bool:
    return normalize_email(email.rsplit("@", 1)[-1]) in settings.TSKR_SUPER_ADMIN_DOMAINS


class CertificateJWTAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` only: never a query string or a cookie."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise TokenRejected("The Authorization header must be 'Bearer <token>'", "invalid_authorization_header")
        entry, verified = verify_token(parts[1])
        certificate_cache.touch(entry)
        identity = verified.identity
        user, super_admin = None, False
        if identity is not None:
            user = delegated_user_cache.get_or_provision(account=entry.account, email=identity[0],
                                                         first_name=identity[1], last_name=identity[2])
            if user.status != user.Status.ACTIVE:
                raise Forbidden("This user is inactive", error_code="user_inactive")
            # From the signed claim, never the stored email: users can change their stored email.
            super_admin = entry.account.staff and is_super_admin_email(identity[0])
        principal = Principal(account=entry.account, certificate_id=entry.certificate_id, user=user,
                              is_super_admin=super_admin)
        return principal, verified.claims

    def authenticate_header(self, request):
        return 'Bearer realm="tskr"'
