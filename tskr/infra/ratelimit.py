"""Per-account rate limiting, all of it: a fixed one-minute window counted atomically, the DRF throttle
that counts a request (`AccountRateThrottle`) and the middleware that reads a pending count and puts
the X-RateLimit-* headers on the answer (`RateLimitMiddleware`).

On Redis, one round trip per request runs a Lua script (INCR, and PEXPIRE on the first hit), so
concurrent requests on any number of processes can never slip past the limit. For safe methods the
round trip overlaps the view (`PendingHit`); writes wait for the count before anything runs. On the
embedded default the count is kept in-process under a lock.
"""
import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from ..api.middleware import json_error
from ..exceptions import RATE_LIMITED_MESSAGE

logger = logging.getLogger("tskr.errors")

WINDOW_SECONDS = 60

_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window ends
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class _LocalCounter:
    def __init__(self):
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def incr(self, key: str) -> int:
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


_local_counter = _LocalCounter()
_TTL_MS = WINDOW_SECONDS * 1000 + 1000
_connections = threading.local()


def _connection() -> Connection:
    """This thread's own Redis connection for counting, outside the shared pool.

    A count is the one Redis round trip of nearly every request, and checking a connection out of the
    pool and back (its lock, a liveness probe by non-blocking read, bookkeeping) cost more CPU than the
    round trip's own send and read. Same server and options as the pool; a new one after a fork.
    """
    connection = getattr(_connections, "connection", None)
    if connection is None or _connections.pid != os.getpid():
        from .redis_client import get_redis

        pool = get_redis().connection_pool
        connection = pool.connection_class(**pool.connection_kwargs)
        _connections.connection, _connections.pid, _connections.unread = connection, os.getpid(), False
    return connection


def _send_increment(key: str) -> Connection:
    connection = _connection()
    if _connections.unread:
        # The reply to a count nobody read (its request never reached the middleware) would otherwise
        # be taken for this one's.
        _connections.unread = False
        try:
            connection.read_response()
        except RedisConnectionError:
            connection.disconnect()
    try:
        connection.send_command("EVAL", _INCREMENT, 1, key, _TTL_MS)
    except RedisConnectionError:
        # A socket gone stale (Redis restarted) fails here; redis-py has dropped it: once more, connected afresh.
        connection.send_command("EVAL", _INCREMENT, 1, key, _TTL_MS)
    _connections.unread = True
    return connection


def _read_count(connection: Connection, key: str) -> int:
    _connections.unread = False
    try:
        return _read_or_drop(connection)
    except RedisConnectionError:
        pass
    # A stale socket can also accept the command and fail only on the reply: once more on a fresh
    # connection. If Redis did count the first one, this request counts twice, never zero times.
    connection.send_command("EVAL", _INCREMENT, 1, key, _TTL_MS)
    return _read_or_drop(connection)


def _read_or_drop(connection: Connection) -> int:
    """The reply, as a count. On any failure the connection is dropped, so that a reply arriving late
    is never taken for the next count's."""
    try:
        return int(connection.read_response())
    except BaseException:
        connection.disconnect()
        raise


def _window(account_id: str) -> tuple[str, int]:
    """The counter's key for the current window, and when that window ends (epoch seconds)."""
    window = int(time.time() // WINDOW_SECONDS)
    return f"tskr:rl:{account_id}:{window}", (window + 1) * WINDOW_SECONDS


def _state(count: int, reset_at: int) -> RateLimitState:
    limit = settings.TSKR_RATE_LIMIT_PER_MINUTE
    return RateLimitState(limit=limit, remaining=max(0, limit - count), reset_at=reset_at, allowed=count <= limit)


def hit(account_id: str) -> RateLimitState:
    key, reset_at = _window(account_id)
    if not settings.REDIS_URL:
        return _state(_local_counter.incr(key), reset_at)
    return _state(_read_count(_send_increment(key), key), reset_at)


class PendingHit:
    """A request counted at once whose count is read later (Redis only).

    The script goes out on the thread's counting connection, and its reply is read after the view
    has run, so the round trip overlaps the view's own database work instead of preceding it. Only
    for safe methods: when the count turns out to be over the limit, their work is thrown away and the
    answer is still a 429 (`RateLimitMiddleware`).
    """

    def __init__(self, account_id: str):
        self._key, self.reset_at = _window(account_id)
        self._connection = _send_increment(self._key)

    def state(self) -> RateLimitState:
        """The count's outcome; call exactly once."""
        return _state(_read_count(self._connection, self._key), self.reset_at)


# What a request carries between the throttle and the middleware (on Django's HttpRequest).
_PENDING = "tskr_rate_limit_pending"
_STATE = "tskr_rate_limit"


def _retry_after(state: RateLimitState) -> int:
    return max(1, math.ceil(state.reset_at - time.time()))


class AccountRateThrottle(BaseThrottle):
    """Counts each authenticated request against its account, once: the viewset checks throttles
    before permissions (so a 403 is counted and carries the headers), and DRF checks them again after.
    The headers go on in `RateLimitMiddleware`."""

    def allow_request(self, request, view):
        principal = request.user
        if not getattr(principal, "is_authenticated", False):
            return True
        django_request = request._request
        if hasattr(django_request, _PENDING):
            return True
        self.state = getattr(django_request, _STATE, None)
        if self.state is not None:
            return self.state.allowed
        if settings.REDIS_URL and request.method in SAFE_METHODS:
            setattr(django_request, _PENDING, PendingHit(principal.account_id))
            return True
        self.state = hit(principal.account_id)
        setattr(django_request, _STATE, self.state)
        return self.state.allowed

    def wait(self):
        return _retry_after(self.state)


class RateLimitMiddleware:
    """Puts X-RateLimit-* on every response of an authenticated request (counted by the throttle).

    A safe request's count is read here, after its view ran (`PendingHit`): over the limit, the view's
    answer is replaced by the 429 the throttle would have given.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        finally:
            pending = getattr(request, _PENDING, None)
            if pending is not None:
                delattr(request, _PENDING)
                try:
                    setattr(request, _STATE, pending.state())
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    logger.warning("redis unavailable: %s", exc.__class__.__name__)
                    setattr(request, _STATE, None)
                    response = json_error("The cache is unavailable; retry shortly", "cache_unavailable", 503,
                                          {"Retry-After": "5"})
        state = getattr(request, _STATE, None)
        if state is not None and not state.allowed and response.status_code != 429:
            response = json_error(RATE_LIMITED_MESSAGE, "rate_limited", 429, {"Retry-After": str(_retry_after(state))})
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
