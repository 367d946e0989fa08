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
