import time

import pytest

from tskr.testing import ApiClient, run_together


def test_every_authenticated_response_carries_rate_limit_headers(manager, settings):
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 50
    first = manager.client.get("/assistants")
    second = manager.client.get("/no-such-route-but-authenticated-views-only")
    assert first["X-RateLimit-Limit"] == "50"
    assert int(first["X-RateLimit-Remaining"]) == 49
    reset = int(first["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61
    assert second.status_code == 404
    error = manager.client.get("/users", {"page": "x"})
    assert error.status_code == 400 and error["X-RateLimit-Remaining"] == "48"


@pytest.mark.urls("tskr.tests.urls_failing")
def test_forbidden_responses_are_counted_and_carry_the_headers(manager, settings):
    """A management token on a delegated-only endpoint still spends (and reports) its budget."""
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 50
    response = manager.client.get("/delegated-only")
    assert response.status_code == 403
    assert response.json()["error_code"] == "user_context_required"
    assert response["X-RateLimit-Remaining"] == "49"
    assert manager.client.get("/delegated-only")["X-RateLimit-Remaining"] == "48"


def test_past_the_limit_requests_get_429_with_retry_after(manager, settings):
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 3
    statuses = [manager.client.get("/assistants").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = manager.client.get("/assistants")
    assert response.json()["error_code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response["X-RateLimit-Remaining"] == "0"


def test_the_limit_is_per_account(manager, charlie, settings):
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 2
    for _ in range(3):
        manager.client.get("/assistants")
    assert manager.client.get("/assistants").status_code == 429
    assert charlie.client.get("/assistants").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_cannot_slip_past_the_limit(manager, settings):
    """24 threads fire at once against a limit of 10: exactly 10 pass, whatever the interleaving."""
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 10
    clients = [ApiClient(manager.token()) for _ in range(24)]
    statuses = [response.status_code for response in run_together(*(lambda c=c: c.get("/assistants") for c in clients))]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 14


def test_unauthenticated_requests_are_not_counted_against_an_account(anonymous, manager, settings):
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 1
    for _ in range(3):
        assert anonymous.get("/assistants").status_code == 401
    assert manager.client.get("/assistants").status_code == 200


def test_over_the_limit_a_write_is_refused_before_it_runs_and_a_read_answer_is_replaced(alice, settings):
    """Reads are counted while they run (the count's round trip overlaps the view); writes wait for it."""
    from directory.models import Memory

    settings.TSKR_RATE_LIMIT_PER_MINUTE = 2
    client = alice.client
    assert client.post("/memories", {"title": "a", "content": "b"}).status_code == 201
    assert client.get("/memories").status_code == 200
    refused = client.post("/memories", {"title": "c", "content": "d"})
    assert refused.status_code == 429 and refused.json()["error_code"] == "rate_limited"
    assert Memory.objects.filter(user=alice.user).count() == 1
    read = client.get("/memories")
    assert read.status_code == 429 and read.json() == {
        "error": "Rate limit exceeded; retry after the number of seconds in Retry-After", "error_code": "rate_limited"}
    assert read["X-RateLimit-Remaining"] == "0" and 1 <= int(read["Retry-After"]) <= 61


def test_each_deferred_count_gives_its_redis_connection_back(manager, settings):
    from tskr.redis_client import get_redis

    if not settings.REDIS_URL:
        pytest.skip("the deferred count is Redis-only")
    pool = get_redis().connection_pool
    manager.client.get("/assistants")
    idle_before = len(pool._available_connections)
    for _ in range(20):
        assert manager.client.get("/assistants").status_code == 200
    assert len(pool._in_use_connections) == 0 and len(pool._available_connections) == idle_before
