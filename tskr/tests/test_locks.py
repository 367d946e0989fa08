"""Locks: one backend, picked from the settings once, behind every function."""
from django.conf import settings

from tskr.infra import locks


def test_the_backend_is_picked_once_by_whether_redis_is_configured():
    assert locks.backend() is locks.backend()
    assert isinstance(locks.backend(), locks.RedisLocks if settings.REDIS_URL else locks.LocalLocks)


def test_a_lock_is_exclusive_until_released_and_only_its_holder_extends_or_releases_it():
    lock = locks.try_acquire("test-locks-exclusive", 5_000)
    assert lock is not None and locks.is_locked("test-locks-exclusive")
    assert locks.try_acquire("test-locks-exclusive", 5_000) is None
    stranger = locks.Lock(lock.key, "not-the-token", lock.ttl_ms)
    assert not stranger.extend() and not stranger.release()
    assert lock.extend() and lock.release()
    assert not locks.is_locked("test-locks-exclusive") and not lock.release()
