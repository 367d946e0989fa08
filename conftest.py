"""Fixtures every app's tests share: personas, and a clean slate in Redis and process caches."""
import pytest
from django.conf import settings

from tskr.testing import ApiClient, make_caller


@pytest.fixture(autouse=True)
def _clean_process_state():
    from tskr.infra import locks, ratelimit
    from accounts.authentication import certificate_cache, delegated_user_cache, verified_tokens
    from conversations.engine.context import agent_configs

    agent_configs.clear()
    certificate_cache.clear()
    delegated_user_cache.clear()
    verified_tokens.clear()
    locks.backend.cache_clear()  # a fresh in-process lock table (Redis is flushed once)
    ratelimit._local_counter._counts.clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def _flush_redis_once():
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.flushdb()
        client.close()


@pytest.fixture
def alice(db):
    return make_caller("Acme", "alice@acme.test", first_name="Alice", last_name="Archer")


@pytest.fixture
def bob(alice):
    return alice.teammate("bob@acme.test", first_name="Bob", last_name="Baker")


@pytest.fixture
def manager(alice):
    return alice.management()


@pytest.fixture
def charlie(db):
    return make_caller("Globex", "charlie@globex.test", first_name="Charlie", last_name="Chen")


@pytest.fixture
def anonymous():
    return ApiClient()
