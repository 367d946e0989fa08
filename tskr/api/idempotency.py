"""Idempotency keys: a write sent again with the same `Idempotency-Key` is answered, not run again.

Stripe's rules, kept per (account, caller, key) for TSKR_IDEMPOTENCY_TTL_HOURS:
- the first request claims the key (one INSERT ... ON CONFLICT DO NOTHING), runs, and stores its
  status and body (one UPDATE); a 5xx is not stored: the claim is dropped and a retry runs again;
- a retry with the same method, path and body gets the stored status and body, with
  `Idempotent-Replayed: true`; with anything else, 422 `idempotency_key_reused`;
- a retry while the first request still runs gets 409 `idempotency_key_in_use`.

`ScopedViewSet` calls `begin` once the caller is authenticated and `finish` with the response; the
claim is committed at once (no transaction around it), so a concurrent retry sees it. The response is
stored once it has been sent (see `finish`): the client waits for the claim only (bench scenario 7).
"""
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import status

from ..exceptions import ApplicationError, BadRequest, Conflict
from ..models import IdempotencyKey

logger = logging.getLogger("tskr.errors")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
#: A claim still unfinished after this long was left by a process that died mid-request (gunicorn kills
#: a worker at 60 s): the key is free again instead of answering 409 until the TTL.
ABANDONED_CLAIM_SECONDS = 120


class InvalidIdempotencyKey(BadRequest):
    error_code = "invalid_idempotency_key"
    default_message = f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    error_code = "idempotency_key_reused"
    default_message = f"This {HEADER} was used with a different method, path or body"


class IdempotencyKeyInUse(Conflict):
    error_code = "idempotency_key_in_use"
    default_message = f"A request with this {HEADER} is still running; retry when it has finished"


class Replayed(Exception):
    """Not a failure: carries the stored response out of `initial`, so the view's handler never runs."""

    def __init__(self, response: HttpResponse):
        super().__init__("replayed")
        self.response = response


@dataclass(frozen=True)
class Claim:
    """The right to run a request for a key: its row, which `finish` completes or drops."""

    id: int


def _fingerprint(request) -> str:
    digest = hashlib.sha256(request.method.encode())
    digest.update(b"\n" + request.get_full_path().encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " <= char <= "~" for char in key)


def begin(request) -> Claim | None:
    """Claim the request's key, or raise `Replayed` / 422 / 409. None when there is no key to honour:
    no header, not a write, or no authenticated caller."""
    key = request.headers.get(HEADER)
    principal = request.user
    if key is None or request.method not in WRITE_METHODS or not getattr(principal, "is_authenticated", False):
        return None
    if not _valid(key):
        raise InvalidIdempotencyKey()
    caller = principal.user.id if principal.user is not None else ""
    return idempotency_key_claim(account_id=principal.account_id, caller=caller, key=key,
                                 fingerprint=_fingerprint(request._request))


def finish(claim: Claim, response) -> None:
    """Store the response for replays, or drop the claim when a retry should run again (5xx, streams).

    Both happen when the server closes the response, after sending it (WSGI `close()`, which runs the
    response's resource closers before `request_finished`): the client is not kept waiting for the UPDATE.
    A retry arriving in between gets 409 `idempotency_key_in_use`, as for any request still running.
    """
    if response.status_code >= 500 or getattr(response, "streaming", False):
        response._resource_closers.append(_logged(idempotency_key_release, claim=claim))
        return
    if hasattr(response, "render"):
        response.render()
    response._resource_closers.append(_logged(
        idempotency_key_complete, claim=claim, status_code=response.status_code,
        content_type=response.get("Content-Type", ""), body=response.content))


def _logged(write, **kwargs):
    """`write(**kwargs)` as a resource closer: Django ignores a closer's exceptions, so a database error is
    logged here (the key then stays unfinished: 409 for retries until ABANDONED_CLAIM_SECONDS, then free)."""

    def closer():
        try:
            write(**kwargs)
        except DatabaseError as exc:
            logger.warning("idempotency key %s not finished: %s", kwargs["claim"].id, exc)

    return closer


#: The claim: one statement, so of two concurrent requests exactly one inserts (PostgreSQL, SQLite >= 3.35).
_CLAIM_SQL = ('INSERT INTO "tskr_idempotencykey" ("account_id", "caller", "key", "fingerprint", "content_type", '
              '"created_at") VALUES (%s, %s, %s, %s, \'\', %s) '
              'ON CONFLICT ("account_id", "caller", "key") DO NOTHING RETURNING "id"')


def idempotency_key_claim(*, account_id: str, caller: str, key: str, fingerprint: str) -> Claim:
    """Steps: insert the key unless it exists (one statement, so two concurrent requests cannot both
    win); inserted -> ours. Else read the row: an expired or abandoned row is taken over by a conditional
    UPDATE; a different fingerprint -> 422; unfinished -> 409; finished -> `Replayed`."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [account_id, caller, key, fingerprint,
                                      connection.ops.adapt_datetimefield_value(now)])
        row = cursor.fetchone()
    if row is not None:
        return Claim(id=row[0])
    existing = IdempotencyKey.objects.filter(account_id=account_id, caller=caller, key=key).first()
    if existing is None:  # purged between the two statements: try once more
        return idempotency_key_claim(account_id=account_id, caller=caller, key=key, fingerprint=fingerprint)
    expired = existing.created_at < now - timedelta(hours=settings.TSKR_IDEMPOTENCY_TTL_HOURS)
    abandoned = existing.status_code is None and existing.created_at < now - timedelta(seconds=ABANDONED_CLAIM_SECONDS)
    if expired or abandoned:
        taken = IdempotencyKey.objects.filter(id=existing.id, created_at=existing.created_at).update(
            fingerprint=fingerprint, created_at=now, status_code=None, content_type="", body=None)
        if taken:
            return Claim(id=existing.id)
        raise IdempotencyKeyInUse()
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if existing.status_code is None:
        raise IdempotencyKeyInUse()
    response = HttpResponse(bytes(existing.body), status=existing.status_code, content_type=existing.content_type)
    response[REPLAYED_HEADER] = "true"
    raise Replayed(response)


def idempotency_key_complete(*, claim: Claim, status_code: int, content_type: str, body: bytes) -> None:
    IdempotencyKey.objects.filter(id=claim.id).update(status_code=status_code, content_type=content_type[:100],
                                                      body=body)


def idempotency_key_release(*, claim: Claim) -> None:
    IdempotencyKey.objects.filter(id=claim.id, status_code__isnull=True).delete()


def idempotency_keys_purge() -> int:
    """Delete keys older than TSKR_IDEMPOTENCY_TTL_HOURS (already ignored by `idempotency_key_claim`).
    Returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.TSKR_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
