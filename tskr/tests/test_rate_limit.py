import time

import pytest

from tskr.infra.ratelimit import WINDOW_SECONDS
from tskr.testing import ApiClient, run_together


@pytest.fixture(autouse=True)
def _clear_of_a_window_edge():
    """These tests count within one fixed window (the longest takes about 3 s): start none in the last
    6 s of one."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 6:
        time.sleep(left + 0.05)


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


def test_a_write_is_counted_once_though_throttles_are_checked_before_and_after_permissions(manager, settings):
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 50
    response = manager.client.post("/assistants", {})
    assert response.status_code == 400 and response["X-RateLimit-Remaining"] == "49"
    assert manager.client.post("/assistants", {})["X-RateLimit-Remaining"] == "48"


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


def _remaining(response) -> int:
    assert response.status_code == 200
    return int(response["X-RateLimit-Remaining"])


@pytest.fixture
def redis_counting(settings):
    if not settings.REDIS_URL:
        pytest.skip("the counting connection is Redis-only")
    settings.TSKR_RATE_LIMIT_PER_MINUTE = 1000


def test_counts_go_over_the_threads_own_connection_not_the_shared_pool(manager, redis_counting):
    from tskr.infra import ratelimit
    from tskr.infra.redis_client import get_redis

    pool = get_redis().connection_pool
    first = _remaining(manager.client.get("/assistants"))
    counting = ratelimit._connection()
    idle, in_use = len(pool._available_connections), len(pool._in_use_connections)
    remaining = [_remaining(manager.client.get("/assistants")) for _ in range(5)]
    assert remaining == [first - 1, first - 2, first - 3, first - 4, first - 5]
    assert ratelimit._connection() is counting and counting not in pool._available_connections
    assert (len(pool._available_connections), len(pool._in_use_connections)) == (idle, in_use)


def test_a_count_nobody_read_does_not_shift_the_next_one(manager, redis_counting):
    """A PendingHit whose request never reached the middleware leaves a reply on the connection."""
    from tskr.infra import ratelimit

    first = _remaining(manager.client.get("/assistants"))
    ratelimit.PendingHit(manager.account.id)  # counted, never read
    assert _remaining(manager.client.get("/assistants")) == first - 2
    assert _remaining(manager.client.get("/assistants")) == first - 3


def test_a_connection_the_server_dropped_is_replaced_and_the_request_counted_once(manager, redis_counting):
    from tskr.infra import ratelimit
    from tskr.infra.redis_client import get_redis

    first = _remaining(manager.client.get("/assistants"))
    counting = ratelimit._connection()
    counting.send_command("CLIENT", "ID")
    client_id = counting.read_response()
    assert get_redis().client_kill_filter(_id=client_id) == 1
    assert _remaining(manager.client.get("/assistants")) == first - 1
    counting.send_command("CLIENT", "ID")
    assert counting.read_response() != client_id


def test_a_count_whose_reply_times_out_is_a_503_and_the_next_counts_stay_exact(manager, redis_counting):
    """Redis holds the count past the socket timeout: that request answers 503; the late reply, if
    any, is never read as a later request's count."""
    from tskr.infra.redis_client import get_redis

    first = _remaining(manager.client.get("/assistants"))
    get_redis().client_pause(2500, all=False)  # writes (the count) wait 2.5 s; the socket timeout is 2 s
    timed_out = manager.client.get("/assistants")
    assert timed_out.status_code == 503 and timed_out.json()["error_code"] == "cache_unavailable"
    time.sleep(0.6)
    after = _remaining(manager.client.get("/assistants"))
    assert after < first
    assert [_remaining(manager.client.get("/assistants")) for _ in range(3)] == [after - 1, after - 2, after - 3]
