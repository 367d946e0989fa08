"""Non-blocking distributed locks for per-resource processing (contract: "Redis Distributed Locks").

Redis: `SET key token NX PX ttl` with a random token; release and extend are compare-and-act Lua
scripts, so a caller whose lock expired and was taken by someone else can never release or extend
the new owner's lock. Embedded default (no REDIS_URL): the same semantics in-process.
"""
import secrets
import threading
import time
from contextlib import contextmanager

from django.conf import settings

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_local_locks: dict[str, tuple[str, float]] = {}
_local_guard = threading.Lock()


class Lock:
    """A held lock. Use `release()` (idempotent) or the `hold_lock` context manager."""

    def __init__(self, key: str, token: str, ttl_ms: int):
        self.key, self.token, self.ttl_ms = key, token, ttl_ms

    def extend(self, ttl_ms: int | None = None) -> bool:
        ttl_ms = ttl_ms or self.ttl_ms
        if settings.REDIS_URL:
            from .redis_client import get_redis

            client = get_redis()
            return bool(client.eval(_EXTEND, 1, self.key, self.token, ttl_ms))
        with _local_guard:
            holder = _local_locks.get(self.key)
            if holder and holder[0] == self.token and holder[1] > time.monotonic():
                _local_locks[self.key] = (self.token, time.monotonic() + ttl_ms / 1000)
                return True
            return False

    def release(self) -> bool:
        if settings.REDIS_URL:
            from .redis_client import get_redis

            return bool(get_redis().eval(_RELEASE, 1, self.key, self.token))
        with _local_guard:
            holder = _local_locks.get(self.key)
            if holder and holder[0] == self.token:
                del _local_locks[self.key]
                return True
            return False


def try_acquire(name: str, ttl_ms: int) -> Lock | None:
    """Take the lock `name` for `ttl_ms` without waiting; None when someone else holds it."""
    key = f"tskr:lock:{name}"
    token = secrets.token_hex(16)
    if settings.REDIS_URL:
        from .redis_client import get_redis

        acquired = get_redis().set(key, token, nx=True, px=ttl_ms)
        return Lock(key, token, ttl_ms) if acquired else None
    with _local_guard:
        holder = _local_locks.get(key)
        now = time.monotonic()
        if holder and holder[1] > now:
            return None
        _local_locks[key] = (token, now + ttl_ms / 1000)
    return Lock(key, token, ttl_ms)


def is_locked(name: str) -> bool:
    key = f"tskr:lock:{name}"
    if settings.REDIS_URL:
        from .redis_client import get_redis

        return bool(get_redis().exists(key))
    holder = _local_locks.get(key)
    return bool(holder and holder[1] > time.monotonic())


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
