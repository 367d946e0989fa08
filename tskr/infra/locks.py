"""Non-blocking distributed locks for per-resource processing (contract: "Redis Distributed Locks").

Redis: `SET key token NX PX ttl` with a random token; release and extend are compare-and-act Lua
scripts, so a caller whose lock expired and was taken by someone else can never release or extend
the new owner's lock. Embedded default (no REDIS_URL): the same semantics in-process. The backend is
chosen once, from the settings at start (`backend()`), and every function goes through it.
"""
import secrets
import threading
import time
from contextlib import contextmanager
from functools import cache

from django.conf import settings

from .redis_client import get_redis

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisLocks:
    """Locks shared by every process and server, on the Redis behind the cache."""

    def acquire(self, key: str, token: str, ttl_ms: int) -> bool:
        return bool(get_redis().set(key, token, nx=True, px=ttl_ms))

    def extend(self, key: str, token: str, ttl_ms: int) -> bool:
        return bool(get_redis().eval(_EXTEND, 1, key, token, ttl_ms))

    def release(self, key: str, token: str) -> bool:
        return bool(get_redis().eval(_RELEASE, 1, key, token))

    def is_held(self, key: str) -> bool:
        return bool(get_redis().exists(key))


class LocalLocks:
    """The embedded default: the same semantics within this process (one server, no Redis)."""

    def __init__(self):
        self._holders: dict[str, tuple[str, float]] = {}
        self._guard = threading.Lock()

    def acquire(self, key: str, token: str, ttl_ms: int) -> bool:
        with self._guard:
            holder, now = self._holders.get(key), time.monotonic()
            if holder and holder[1] > now:
                return False
            self._holders[key] = (token, now + ttl_ms / 1000)
            return True

    def extend(self, key: str, token: str, ttl_ms: int) -> bool:
        with self._guard:
            holder = self._holders.get(key)
            if holder and holder[0] == token and holder[1] > time.monotonic():
                self._holders[key] = (token, time.monotonic() + ttl_ms / 1000)
                return True
            return False

    def release(self, key: str, token: str) -> bool:
        with self._guard:
            holder = self._holders.get(key)
            if holder and holder[0] == token:
                del self._holders[key]
                return True
            return False

    def is_held(self, key: str) -> bool:
        holder = self._holders.get(key)
        return bool(holder and holder[1] > time.monotonic())


@cache
def backend() -> RedisLocks | LocalLocks:
    """The process's lock backend, picked the first time a lock is used: Redis when REDIS_URL is set."""
    return RedisLocks() if settings.REDIS_URL else LocalLocks()


class Lock:
    """A held lock. Use `release()` (idempotent) or the `hold_lock` context manager."""

    def __init__(self, key: str, token: str, ttl_ms: int):
        self.key, self.token, self.ttl_ms = key, token, ttl_ms

    def extend(self, ttl_ms: int | None = None) -> bool:
        return backend().extend(self.key, self.token, ttl_ms or self.ttl_ms)

    def release(self) -> bool:
        return backend().release(self.key, self.token)


def try_acquire(name: str, ttl_ms: int) -> Lock | None:
    """Take the lock `name` for `ttl_ms` without waiting; None when someone else holds it."""
    key, token = f"tskr:lock:{name}", secrets.token_hex(16)
    return Lock(key, token, ttl_ms) if backend().acquire(key, token, ttl_ms) else None


def is_locked(name: str) -> bool:
    return backend().is_held(f"tskr:lock:{name}")


@contextmanager
def hold_lock(name: str, ttl_ms: int, *, on_busy):
    """Hold `name` for the block and release it afterwards, also on error.

    `on_busy` is the exception raised when the lock is taken.
    """
    lock = try_acquire(name, ttl_ms)
    if lock is None:
        raise on_busy
    try:
        yield lock
    finally:
        lock.release()
