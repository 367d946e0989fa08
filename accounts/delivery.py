"""Delivering events to webhook endpoints, as the Standard Webhooks specification describes.

A commit that wrote events wakes the dispatcher (`manage.py deliver_webhooks --loop`, through
PostgreSQL's LISTEN/NOTIFY), which fans them out into deliveries and makes their attempts on a pool of
threads; on the embedded default the attempts run in-process after the commit instead. Every attempt is
made under a claim (`claimed_until`, a lease longer than an attempt can last), taken with the delivery's
creation or by a conditional UPDATE, and its outcome recorded. A dispatcher that dies mid-attempt leaves
a claim that expires; the sweep then takes the delivery again. Receivers may therefore see an event
twice (the same `webhook-id`), never zero times.
"""
import base64
import hashlib
import hmac
import ipaddress
import logging
import random
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import UTC, datetime, timedelta
from functools import partial
from email.utils import parsedate_to_datetime

import httpcore
import httpx
import orjson
import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Event, Webhook, WebhookDelivery

logger = logging.getLogger("tskr.webhooks")

#: How much of a receiver's response is read and kept (`responseBody`).
RESPONSE_BODY_LIMIT = 1024
#: How many due deliveries (and undispatched events) one sweep pass takes.
SWEEP_BATCH = 200
#: How many expired events one sweep pass deletes (with their deliveries).
EXPIRE_BATCH = 5000


# -- signing ----------------------------------------------------------------------------------

def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the base64 part after `whsec_`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signing_secrets(webhook: Webhook, now: datetime) -> list[str]:
    """The current secret, and during a rotation's overlap the previous one too."""
    if webhook.previous_secret and webhook.previous_secret_expires_at and webhook.previous_secret_expires_at > now:
        return [webhook.secret, webhook.previous_secret]
    return [webhook.secret]


def event_payload(event: Event) -> bytes:
    timestamp = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"id": event.id, "type": event.type, "timestamp": timestamp, "data": event.data})


# -- where a webhook may point ----------------------------------------------------------------

class AddressRefused(Exception):
    """A webhook URL or the address it resolves to is not allowed (SSRF guard)."""


def address_allowed(address: str) -> bool:
    """Only public unicast addresses: not loopback, private, link-local, multicast, shared or reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_allowed(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, refused if any of them is not public (no mixing tricks)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refused = [address for address in addresses if not address_allowed(address)]
    if refused or not addresses:
        raise AddressRefused(f"{host} resolves to a non-public address ({', '.join(refused)})")
    return addresses


def url_check(url: str) -> None:
    """Refuse what a webhook may not point to: raises AddressRefused saying why."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise AddressRefused(f"Invalid URL ({exc})") from None
    allowed_schemes = {"http", "https"} if settings.TSKR_WEBHOOKS_ALLOW_PRIVATE else {"https"}
    if parsed.scheme not in allowed_schemes or not parsed.host:
        raise AddressRefused(f"The URL must be {' or '.join(sorted(allowed_schemes))}:// with a host")
    if parsed.userinfo:
        raise AddressRefused("The URL must not carry credentials")
    if not settings.TSKR_WEBHOOKS_ALLOW_PRIVATE:
        resolve_allowed(parsed.host, parsed.port or 443)


class _GuardedBackend(httpcore.SyncBackend):
    """Connects to an address it checked itself, at connect time: a name that resolved to a public
    address when the webhook was saved and to an internal one now (DNS rebinding) is refused. TLS still
    verifies the certificate against the URL's host name (httpcore passes it as SNI separately)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if not settings.TSKR_WEBHOOKS_ALLOW_PRIVATE:
            host = resolve_allowed(host, port)[0]
        return super().connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


_client: httpx.Client | None = None


def _http_client() -> httpx.Client:
    """One client per process, made on first use (after a prefork worker forks): building the TLS context
    costs tens of milliseconds, and receivers' keep-alive connections are reused."""
    global _client
    if _client is None:
        transport = httpx.HTTPTransport(retries=0)
        # httpx has no public hook for the network backend; its connection pool takes one.
        transport._pool._network_backend = _GuardedBackend()
        _client = httpx.Client(transport=transport, follow_redirects=False)
    return _client


# -- fan-out ----------------------------------------------------------------------------------

@transaction.atomic
def events_dispatch(*, limit: int = SWEEP_BATCH, event_ids: Sequence[str] | None = None
                    ) -> tuple[int, list[WebhookDelivery]]:
    """Fan undispatched events out into one delivery per enabled endpoint of their account that wants their
    type; answer (events dispatched, the deliveries), each delivery claimed for the caller, with its
    endpoint and event loaded, ready for `delivery_send`.

    Steps: lock up to `limit` undispatched events, oldest first (only `event_ids`, when given), skipping
    those another dispatcher has locked; mark them dispatched; load their accounts' enabled endpoints in
    one query; create every delivery in one INSERT, already claimed. A dispatcher that dies before its
    attempts leaves claims that expire, and the sweep takes those deliveries.
    """
    pending = Event.objects.select_for_update(skip_locked=True).filter(dispatched_at__isnull=True)
    if event_ids is not None:
        pending = pending.filter(id__in=event_ids)
    events = list(pending.order_by("created_at")[:limit])
    if not events:
        return 0, []
    now = timezone.now()
    Event.objects.filter(id__in=[event.id for event in events]).update(dispatched_at=now)
    endpoints = defaultdict(list)
    for webhook in Webhook.objects.filter(account_id__in={event.account_id for event in events}, enabled=True):
        endpoints[webhook.account_id].append(webhook)
    deliveries = [WebhookDelivery(account_id=event.account_id, webhook=webhook, event=event, next_attempt_at=now,
                                  claimed_until=now + claim_lease())
                  for event in events for webhook in endpoints[event.account_id] if webhook.receives(event.type)]
    return len(events), WebhookDelivery.objects.bulk_create(deliveries)


# -- one attempt ------------------------------------------------------------------------------

def claim_lease() -> timedelta:
    """Longer than an attempt can last: the timeout bounds the connect, the send and each read, and the
    body read stops at the timeout overall, so three timeouts plus a margin for recording the outcome."""
    return timedelta(seconds=3 * settings.TSKR_WEBHOOK_TIMEOUT_SECONDS + 10)


def _due(now: datetime):
    return (WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now,
                                           webhook__enabled=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)))


@transaction.atomic
def deliveries_claim_due(*, limit: int = SWEEP_BATCH) -> list[WebhookDelivery]:
    """Claim up to `limit` pending deliveries that are due and that no live worker holds (retries, replays,
    those of dead workers), oldest due first, with their endpoint and event loaded for `delivery_send`.
    Rows another dispatcher has locked are skipped, so concurrent dispatchers share the work."""
    now = timezone.now()
    deliveries = list(_due(now).select_for_update(skip_locked=True, of=("self",)).select_related("webhook", "event")
                      .order_by("next_attempt_at")[:limit])
    claimed_until = now + claim_lease()
    WebhookDelivery.objects.filter(id__in=[delivery.id for delivery in deliveries]).update(claimed_until=claimed_until)
    for delivery in deliveries:
        delivery.claimed_until = claimed_until
    return deliveries


def _claim(delivery_id: str, account_id: str, now: datetime, *, force: bool) -> bool:
    due = WebhookDelivery.objects.filter(id=delivery_id, account_id=account_id, status=WebhookDelivery.Status.PENDING)
    due = due.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if not force:
        due = due.filter(next_attempt_at__lte=now, webhook__enabled=True)
    return due.update(claimed_until=now + claim_lease()) == 1


def delivery_attempt(*, delivery_id: str, account_id: str, force: bool = False) -> WebhookDelivery | None:
    """Claim one due delivery (a conditional UPDATE) and send it; None when it was not due or another worker
    has it. `force` sends a pending delivery that is not due yet, or whose endpoint is disabled (the test
    endpoint)."""
    if not _claim(delivery_id, account_id, timezone.now(), force=force):
        return None
    return delivery_send(delivery=WebhookDelivery.objects.select_related("webhook", "event").get(id=delivery_id))


def delivery_send(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Make one attempt of a delivery this process has claimed, its endpoint and event loaded, and record it.

    Steps: sign the event's body with the endpoint's secret(s); POST it without following redirects,
    reading at most RESPONSE_BODY_LIMIT bytes of the answer; record success, or schedule the next
    attempt, or fail it after the last; disable the endpoint on 410 or after
    TSKR_WEBHOOK_DISABLE_AFTER_DAYS of failures.
    """
    now = timezone.now()
    webhook, event = delivery.webhook, delivery.event
    body = event_payload(event)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "TSKR-Webhooks/1.0",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret=secret, message_id=event.id, timestamp=timestamp, body=body)
                                      for secret in signing_secrets(webhook, now)),
    }
    started = time.perf_counter()
    status_code, response_body, retry_after = _post(webhook.url, body, headers)
    duration_ms = round((time.perf_counter() - started) * 1000)
    return _record(delivery, webhook, now=now, status_code=status_code, response_body=response_body,
                   retry_after=retry_after, duration_ms=duration_ms)


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str | None]:
    """(status code or None, the first KB of the answer or what went wrong, Retry-After)."""
    deadline = time.monotonic() + settings.TSKR_WEBHOOK_TIMEOUT_SECONDS
    try:
        with _http_client().stream("POST", url, content=body, headers=headers,
                                   timeout=settings.TSKR_WEBHOOK_TIMEOUT_SECONDS) as response:
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= RESPONSE_BODY_LIMIT or time.monotonic() > deadline:
                    break
            text = received[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")
            return response.status_code, text, response.headers.get("retry-after")
    except AddressRefused as exc:
        return None, f"Refused: {exc}", None
    except httpx.TimeoutException:
        return None, f"Timed out after {settings.TSKR_WEBHOOK_TIMEOUT_SECONDS} s", None
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:RESPONSE_BODY_LIMIT], None


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


def next_delay(*, attempts: int, status_code: int | None, retry_after: str | None) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, or None when that was the last.

    The schedule's delay with +-10% jitter (so endpoints coming back are not hit in lockstep). On 429 and
    503, Retry-After is honoured when it asks for longer, up to the following slot's delay.
    """
    schedule = settings.TSKR_WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * random.uniform(0.9, 1.1)
    asked = _retry_after_seconds(retry_after) if status_code in (429, 503) else None
    if asked is not None:
        bound = schedule[min(attempts, len(schedule) - 1)]
        delay = max(delay, min(asked, bound))
    return delay


def _record(delivery: WebhookDelivery, webhook: Webhook, *, now: datetime, status_code: int | None,
            response_body: str, retry_after: str | None, duration_ms: int) -> WebhookDelivery:
    finished = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = status_code
    delivery.response_body = response_body
    delivery.duration_ms = duration_ms
    delivery.claimed_until = None
    succeeded = status_code is not None and 200 <= status_code < 300
    if succeeded:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.SUCCEEDED, None
        # Only when the endpoint, as loaded with the claim, was failing: most successes then cost no UPDATE
        # of the endpoint. A failure recorded since that load is cleared by the endpoint's next success.
        if webhook.failing_since is not None:
            Webhook.objects.filter(id=webhook.id, failing_since__isnull=False).update(failing_since=None)
    else:
        delay = None if status_code == 410 else next_delay(attempts=delivery.attempts, status_code=status_code,
                                                          retry_after=retry_after)
        if delay is None:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            delivery.next_attempt_at = finished + timedelta(seconds=delay)
        _note_failure(webhook, now=now, gone=status_code == 410)
    delivery.save(update_fields=["attempts", "last_attempt_at", "response_status", "response_body", "duration_ms",
                                 "claimed_until", "status", "next_attempt_at"])
    return delivery


def _note_failure(webhook: Webhook, *, now: datetime, gone: bool) -> None:
    """Disable an endpoint that answered 410 Gone, or whose attempts all failed for the configured days."""
    Webhook.objects.filter(id=webhook.id, failing_since__isnull=True).update(failing_since=now)
    if gone:
        reason = "The endpoint answered 410 Gone"
    else:
        cutoff = now - timedelta(days=settings.TSKR_WEBHOOK_DISABLE_AFTER_DAYS)
        if not Webhook.objects.filter(id=webhook.id, failing_since__lte=cutoff).exists():
            return
        reason = f"Every delivery failed for {settings.TSKR_WEBHOOK_DISABLE_AFTER_DAYS} days"
    if Webhook.objects.filter(id=webhook.id, enabled=True).update(enabled=False, disabled_reason=reason,
                                                                  updated_at=timezone.now()):
        logger.warning("webhook %s of account %s disabled: %s", webhook.id, webhook.account_id, reason)


# -- the sweep and the dispatcher -------------------------------------------------------------

def webhooks_sweep(*, submit: Callable[[WebhookDelivery], object] | None = None, limit: int = SWEEP_BATCH,
                   expire: bool = True) -> dict:
    """One pass: fan out undispatched events and hand their deliveries, then every due delivery (retries,
    replays, those of dead workers), to `submit` (the dispatcher queues them on its threads; by default
    they are sent in turn, here); with `expire`, drop events older than TSKR_EVENT_RETENTION_DAYS. Takes
    up to `limit` of each."""
    dispatched, first = events_dispatch(limit=limit)
    due = deliveries_claim_due(limit=max(0, limit - len(first)))
    for delivery in first + due:
        if submit is None:
            delivery_send(delivery=delivery)
        else:
            submit(delivery)
    expired = _events_expire() if expire else 0
    return {"dispatched": dispatched, "delivered": len(first) + len(due), "expired": expired}


def _events_expire() -> int:
    # In batches, so that a sweep after a long pause does not delete months of rows in one statement.
    cutoff = timezone.now() - timedelta(days=settings.TSKR_EVENT_RETENTION_DAYS)
    expired_ids = list(Event.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:EXPIRE_BATCH])
    Event.objects.filter(id__in=expired_ids).delete()
    return len(expired_ids)


def deliver_on_commit(*, account_id: str, event_id: str | None = None, delivery_ids: Sequence[str] = ()) -> None:
    """Have what the current transaction writes (an event, or deliveries queued again) delivered once it
    commits.

    With TSKR_WEBHOOK_DELIVERY=dispatcher, PostgreSQL wakes the dispatcher at commit: for an event, the
    events table's trigger (so emitting stays one statement); for deliveries, a NOTIFY sent now. Inline
    (the embedded default), the attempts run in this process right after the commit.
    """
    if settings.TSKR_WEBHOOK_DELIVERY == "dispatcher":
        if delivery_ids:
            dispatcher_wake()
        return
    # robust: an attempt that fails must not fail a request whose change is committed; the sweep retries.
    transaction.on_commit(partial(_deliver_inline, account_id=account_id, event_id=event_id,
                                  delivery_ids=delivery_ids), robust=True)


def _deliver_inline(*, account_id: str, event_id: str | None, delivery_ids: Sequence[str]) -> None:
    if event_id is not None:
        for delivery in events_dispatch(event_ids=[event_id])[1]:
            delivery_send(delivery=delivery)
    for delivery_id in delivery_ids:
        delivery_attempt(delivery_id=delivery_id, account_id=account_id)


#: The PostgreSQL channel the dispatcher LISTENs on (the events table's trigger notifies it too:
#: migration 0005).
WAKE_CHANNEL = "tskr_webhooks"


def dispatcher_wake() -> None:
    """Wake the dispatcher when the current transaction commits (PostgreSQL delivers a NOTIFY only then,
    and once per transaction however often it was sent)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])


class _WakeUps:
    """Waits for a commit's NOTIFY, or for `timeout` seconds, on a connection of its own that LISTENs (made
    before the first pass, so no commit between the two goes unheard). Without PostgreSQL it sleeps."""

    def __init__(self):
        self.listener = None
        if connection.vendor == "postgresql":
            self._listen()

    def _listen(self) -> None:
        self.listener = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        self.listener.execute(f"LISTEN {WAKE_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Whether a wake-up came (or may have been missed: after reconnecting) before `timeout` ran out."""
        if connection.vendor != "postgresql":
            time.sleep(max(timeout, 0.0))
            return False
        try:
            if self.listener is None or self.listener.closed:
                self._listen()
                return True
            if not any(True for _ in self.listener.notifies(timeout=max(timeout, 0.0), stop_after=1)):
                return False
            for _ in self.listener.notifies(timeout=0):  # the others sent during the same pass: one pass serves all
                pass
            return True
        except psycopg.Error:
            if self.listener is not None:
                self.listener.close()
            self.listener = None
            raise


def webhooks_dispatch_forever(*, threads: int, interval: float, report: Callable[[dict], None]) -> None:
    """The dispatcher (`manage.py deliver_webhooks --loop`): a pass as soon as a commit wakes it, and at
    least every `interval` seconds (due retries, claims of dead workers, events whose wake-up was lost,
    expiry). Attempts run on `threads` threads, since an attempt mostly waits for its receiver; the
    passes go on while they run, so a slow receiver holds the threads its attempts are on, not the pass.
    At most two attempts per thread are claimed ahead: a backlog stays in the database, where other
    dispatchers can take it."""
    capacity = 2 * threads
    in_flight: set[Future] = set()
    wake_ups = _WakeUps()
    next_sweep = 0.0
    with ThreadPoolExecutor(threads, thread_name_prefix="webhooks") as pool:
        while True:
            in_flight = {future for future in in_flight if not future.done()}
            if len(in_flight) > threads:  # refill once a thread's worth is free: claims in batches, not one by one
                futures_wait(in_flight, timeout=interval, return_when=FIRST_COMPLETED)
                continue
            close_old_connections()
            sweeping = time.monotonic() >= next_sweep
            room = capacity - len(in_flight)
            try:
                result = webhooks_sweep(submit=lambda delivery: in_flight.add(pool.submit(_send_on_thread, delivery)),
                                        limit=room, expire=sweeping)
                if sweeping:
                    next_sweep = time.monotonic() + interval
                if any(result.values()):
                    report(result)
                if result["delivered"] < room:  # else more may be waiting: go on at once
                    while not wake_ups.wait(next_sweep - time.monotonic()) and time.monotonic() < next_sweep:
                        pass
            except (DatabaseError, psycopg.Error):
                # PostgreSQL unreachable for a moment: try again after a pause rather than exit.
                logger.exception("webhook dispatcher: pass failed; trying again in %s s", interval)
                time.sleep(interval)


def _send_on_thread(delivery: WebhookDelivery) -> None:
    """One attempt on a dispatcher thread, on that thread's database connection. An error is logged and the
    delivery left claimed: when its lease ends, the sweep attempts it again."""
    close_old_connections()
    try:
        delivery_send(delivery=delivery)
    except Exception:
        logger.exception("webhook delivery %s of account %s: the attempt failed", delivery.id, delivery.account_id)


def oldest_due_age_seconds() -> float | None:
    """Age of the oldest event still waiting to be delivered (undispatched, or a due pending delivery)."""
    now = timezone.now()
    oldest = [Event.objects.filter(dispatched_at__isnull=True).order_by("created_at")
              .values_list("created_at", flat=True).first(),
              WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now,
                                             webhook__enabled=True)
              .order_by("event__created_at").values_list("event__created_at", flat=True).first()]
    oldest = [moment for moment in oldest if moment is not None]
    return round((now - min(oldest)).total_seconds(), 3) if oldest else None
