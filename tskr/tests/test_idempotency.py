"""Idempotency-Key on writes (tskr/api/idempotency.py): replay, reuse, in flight, 5xx, scoping, TTL, schema, cost."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import Memory
from tskr.models import IdempotencyKey
from tskr.tasks import purge_idempotency_keys
from tskr.testing import run_together
from tskr.tests import urls_failing

MEMORY = {"title": "Standup", "content": "daily at 9"}


def remember(caller, key="key-1", body=None, path="/memories"):
    return caller.client.post(path, body or MEMORY, headers={"Idempotency-Key": key})


def test_a_retry_gets_the_stored_response_and_runs_nothing(alice):
    first = remember(alice)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    retry = remember(alice)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json() and retry.headers["Content-Type"] == "application/json"
    assert Memory.objects.filter(user=alice.user).count() == 1


def test_put_and_delete_are_replayed_too(alice):
    memory = remember(alice).json()["memory"]
    path = f"/memories/{memory['id']}"
    for _ in range(2):
        updated = alice.client.put(path, {"content": "at 10"}, headers={"Idempotency-Key": "put-1"})
        assert updated.status_code == 200 and updated.json()["memory"]["content"] == "at 10"
    assert updated.headers["Idempotent-Replayed"] == "true"
    first = alice.client.delete(path, headers={"Idempotency-Key": "delete-1"})
    retry = alice.client.delete(path, headers={"Idempotency-Key": "delete-1"})
    assert first.status_code == retry.status_code == 200 and retry.json() == first.json()
    assert alice.client.delete(path).status_code == 404  # without the key it did run again


@pytest.mark.parametrize("change", ["body", "path", "method"])
def test_the_same_key_on_another_request_is_a_422(alice, change):
    memory = remember(alice, key="other-key").json()["memory"]
    remember(alice)
    if change == "body":
        response = remember(alice, body={**MEMORY, "content": "daily at 10"})
    elif change == "path":
        response = remember(alice, path="/memories?x=1")
    else:
        response = alice.client.put(f"/memories/{memory['id']}", MEMORY, headers={"Idempotency-Key": "key-1"})
    assert response.status_code == 422
    assert response.json() == {"error": "This Idempotency-Key was used with a different method, path or body",
                               "error_code": "idempotency_key_reused"}
    assert Memory.objects.filter(user=alice.user).count() == 2


def test_a_4xx_is_stored_and_replayed(alice):
    first = remember(alice, body={"title": "no content"})
    assert first.status_code == 400 and first.json()["error_code"] == "validation_error"
    retry = remember(alice, body={"title": "no content"})
    assert retry.status_code == 400 and retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"


@pytest.mark.urls("tskr.tests.urls_failing")
def test_a_5xx_is_not_stored_and_the_retry_runs_again(alice):
    urls_failing.FailsOnceWriteViewSet.runs = 0
    first = remember(alice, path="/fails-once", body={"a": 1})
    assert first.status_code == 500 and first.json()["error_code"] == "internal_error"
    retry = remember(alice, path="/fails-once", body={"a": 1})
    assert retry.status_code == 201 and retry.json() == {"ok": True, "data": {"run": 2}}
    assert "Idempotent-Replayed" not in retry.headers
    assert remember(alice, path="/fails-once", body={"a": 1}).headers["Idempotent-Replayed"] == "true"


@pytest.mark.urls("tskr.tests.urls_failing")
@pytest.mark.django_db(transaction=True)
def test_retries_while_the_first_runs_get_409_and_it_runs_once(alice):
    urls_failing.SlowWriteViewSet.runs = 0
    clients = [alice.client for _ in range(4)]
    responses = run_together(*(lambda c=c: c.post("/slow-write", {"a": 1}, headers={"Idempotency-Key": "k"})
                               for c in clients))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409], [response.json() for response in responses]
    assert all(response.json() == {"error": "A request with this Idempotency-Key is still running; retry when it "
                                            "has finished", "error_code": "idempotency_key_in_use"}
               for response in responses if response.status_code == 409)
    assert urls_failing.SlowWriteViewSet.runs == 1
    replay = alice.client.post("/slow-write", {"a": 1}, headers={"Idempotency-Key": "k"})
    assert replay.status_code == 201 and replay.json()["data"] == {"run": 1}


def test_keys_are_per_caller_and_per_account(alice, bob, charlie, manager):
    mine = remember(alice).json()["memory"]
    for other in (bob, charlie):
        response = remember(other)
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
        assert response.json()["memory"]["id"] != mine["id"]
    assert Memory.objects.count() == 3
    # the account's management token is a caller of its own: alice's key means nothing to it
    management = manager.client.post("/users", {"email": "dan@acme.test", "firstName": "Dan"},
                                     headers={"Idempotency-Key": "key-1"})
    assert management.status_code == 201 and "Idempotent-Replayed" not in management.headers
    assert IdempotencyKey.objects.filter(key="key-1").count() == 4


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey", "caf\u00e9"])
def test_a_malformed_key_is_a_400(alice, key):
    response = remember(alice, key=key)
    assert response.status_code == 400 and response.json()["error_code"] == "invalid_idempotency_key"
    assert not Memory.objects.exists()


def test_reads_and_unauthenticated_requests_ignore_the_header(alice, anonymous):
    assert alice.client.get("/memories", headers={"Idempotency-Key": "k"}).status_code == 200
    assert anonymous.post("/memories", MEMORY, headers={"Idempotency-Key": "k"}).status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_old_keys_are_purged_by_the_periodic_task(alice, settings):
    remember(alice, key="old")
    remember(alice, key="new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert purge_idempotency_keys.apply().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert "tskr.purge_idempotency_keys" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_an_expired_key_not_yet_purged_runs_the_request_again(alice, settings):
    settings.TSKR_IDEMPOTENCY_TTL_HOURS = 1
    remember(alice)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=1, seconds=1))
    again = remember(alice, body={**MEMORY, "content": "changed"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert Memory.objects.filter(user=alice.user).count() == 2


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(alice):
    IdempotencyKey.objects.create(account_id=alice.account.id, caller=alice.user.id, key="key-1", fingerprint="x",
                                  created_at=timezone.now() - timedelta(minutes=3))
    assert remember(alice).status_code == 201
    assert Memory.objects.filter(user=alice.user).count() == 1


def test_a_key_costs_two_queries_on_a_first_write_and_one_on_a_replay(alice):
    alice.client.get("/memories")  # provisions alice and warms the process caches

    def queries(**kwargs):
        with CaptureQueriesContext(connection) as captured:
            assert alice.client.post("/memories", MEMORY, **kwargs).status_code == 201
        return len(captured.captured_queries)

    plain = queries()
    # the claim (INSERT ... ON CONFLICT DO NOTHING RETURNING id) and the stored response (UPDATE)
    assert queries(headers={"Idempotency-Key": "cost"}) == plain + 2
    # the claim, then the stored row (SELECT), and nothing of the view
    with CaptureQueriesContext(connection) as captured:
        remember(alice, key="cost")
    assert len(captured.captured_queries) == 2


def test_every_write_declares_the_header_in_the_openapi_document(anonymous):
    schema = anonymous.get("/openapi.json").json()
    writes = [(path, method, operation) for path, operations in schema["paths"].items()
              for method, operation in operations.items() if method in {"post", "put", "patch", "delete"}
              and operation.get("security") not in (None, [], [{}])]
    assert len(writes) > 20
    for path, method, operation in writes:
        names = [parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "header"]
        assert names.count("Idempotency-Key") == 1, (path, method)
        assert "idempotency_key_reused" in operation["responses"]["422"]["description"], (path, method)
        assert "Idempotent-Replayed" in operation["responses"]["201" if "201" in operation["responses"] else "200"][
            "headers"], (path, method)
    assert "idempotency_key_in_use" in schema["paths"]["/memories"]["post"]["responses"]["409"]["description"]
