"""Webhook endpoints API and delivery, against a real HTTP receiver on loopback.

Signatures are verified with the official `standardwebhooks` package, not with our code.
"""
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook

from accounts.delivery import webhooks_sweep
from accounts.events import event_emit
from accounts.models import Event, EventType, Webhook, WebhookDelivery

from .webhook_receiver import Answer


def deliver_due() -> dict:
    """One sweep pass delivering in turn, in this process (what `manage.py deliver_webhooks` does)."""
    return webhooks_sweep()


def create_webhook(manager, url: str, **fields) -> dict:
    response = manager.client.post("/webhooks", {"url": url, **fields})
    assert response.status_code == 201, response.json()
    return response.json()["webhook"]


def emit_task_event(account, title: str = "Write the report") -> Event:
    return event_emit(account_id=account.id, type=EventType.TASK_CREATED, data={"id": "task_1", "title": title})


def verify(secret: str, received) -> dict:
    return StandardWebhook(secret).verify(received.body, received.headers)


# -- endpoints API ----------------------------------------------------------------------------

@pytest.mark.smoke
def test_create_answers_the_secret_once_and_reads_never_show_it(manager, receiver):
    webhook = create_webhook(manager, receiver.url, description="CRM")
    assert webhook["id"].startswith("whk_") and webhook["secret"].startswith("whsec_")
    assert webhook["events"] == ["*"] and webhook["enabled"] is True and webhook["description"] == "CRM"
    assert webhook["createdAt"].endswith("Z") and webhook["disabledReason"] == ""
    shown = manager.client.get(f"/webhooks/{webhook['id']}").json()["webhook"]
    assert "secret" not in shown
    listed = manager.client.get("/webhooks").json()
    assert listed["total"] == 1 and "secret" not in listed["webhooks"][0]


def test_an_unknown_event_type_is_refused_naming_the_known_ones(manager, receiver):
    response = manager.client.post("/webhooks", {"url": receiver.url, "events": ["task.created", "task.exploded"]})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "unknown_event_type"
    assert "task.exploded" in body["error"] and "task.status_changed" in body["error"]


def test_update_and_delete(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    response = manager.client.put(f"/webhooks/{webhook['id']}", {"events": ["task.created"], "enabled": False})
    assert response.status_code == 200
    assert response.json()["webhook"]["events"] == ["task.created"] and response.json()["webhook"]["enabled"] is False
    assert manager.client.delete(f"/webhooks/{webhook['id']}").status_code == 200
    assert manager.client.get(f"/webhooks/{webhook['id']}").status_code == 404


def test_a_delegated_token_reads_webhooks_but_cannot_change_them(manager, alice, receiver):
    webhook = create_webhook(manager, receiver.url)
    assert alice.client.get(f"/webhooks/{webhook['id']}").status_code == 200
    for response in (alice.client.post("/webhooks", {"url": receiver.url}),
                     alice.client.put(f"/webhooks/{webhook['id']}", {"enabled": False}),
                     alice.client.delete(f"/webhooks/{webhook['id']}"),
                     alice.client.post(f"/webhooks/{webhook['id']}/rotate-secret")):
        assert response.status_code == 403
        assert response.json()["error_code"] == "management_token_required"


def test_another_account_gets_404_for_every_webhook_route(manager, charlie, receiver):
    webhook = create_webhook(manager, receiver.url)
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    outsider = charlie.management().client
    base = f"/webhooks/{webhook['id']}"
    for response in (outsider.get(base), outsider.put(base, {"enabled": False}), outsider.delete(base),
                     outsider.post(f"{base}/rotate-secret"), outsider.post(f"{base}/test"),
                     outsider.post(f"{base}/replay", {"since": "2020-01-01T00:00:00Z"}),
                     outsider.get(f"{base}/deliveries"), outsider.post(f"{base}/deliveries/{delivery.id}/retry")):
        assert response.status_code == 404, response.json()
        assert response.json()["error_code"] == "not_found"
    assert outsider.get("/events").json()["total"] == 0
    assert len(receiver.requests) == 1


def test_anonymous_is_refused(anonymous):
    assert anonymous.get("/webhooks").status_code == 401
    assert anonymous.get("/events").status_code == 401


# -- delivery ---------------------------------------------------------------------------------

@pytest.mark.smoke
def test_a_delivery_is_signed_as_standard_webhooks_says(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    event = emit_task_event(manager.account)
    deliver_due()
    [received] = receiver.requests
    assert received.headers["content-type"] == "application/json"
    assert received.headers["webhook-id"] == event.id
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 10
    payload = verify(webhook["secret"], received)
    assert payload["id"] == event.id and payload["type"] == "task.created"
    assert payload["timestamp"].endswith("Z") and payload["data"] == {"id": "task_1", "title": "Write the report"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.response_status == 200


def test_rotation_signs_with_both_secrets_during_the_overlap(manager, receiver, settings):
    webhook = create_webhook(manager, receiver.url)
    rotated = manager.client.post(f"/webhooks/{webhook['id']}/rotate-secret").json()["webhook"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != webhook["secret"]
    emit_task_event(manager.account)
    deliver_due()
    [received] = receiver.requests
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    verify(rotated["secret"], received)
    verify(webhook["secret"], received)

    Webhook.objects.filter(id=webhook["id"]).update(previous_secret_expires_at=timezone.now())
    emit_task_event(manager.account)
    deliver_due()
    assert len(receiver.requests[1].headers["webhook-signature"].split(" ")) == 1
    verify(rotated["secret"], receiver.requests[1])


def test_a_failed_attempt_is_retried_on_the_schedule_with_the_same_webhook_id(manager, receiver, settings):
    settings.TSKR_WEBHOOK_RETRY_SCHEDULE = [1, 300]
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=500, body=b"boom"))
    event = emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.response_status == 500
    assert delivery.response_body == "boom"
    assert timedelta(seconds=0.85) <= delivery.next_attempt_at - delivery.last_attempt_at <= timedelta(seconds=1.5)
    assert deliver_due()["delivered"] == 0  # not due yet
    time.sleep(1.2)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]
    assert Webhook.objects.get().failing_since is None


def test_a_delivery_fails_after_the_last_scheduled_attempt(manager, receiver, settings):
    settings.TSKR_WEBHOOK_RETRY_SCHEDULE = [1]
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=500), Answer(status=502))
    emit_task_event(manager.account)
    deliver_due()
    time.sleep(1.2)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2 and delivery.next_attempt_at is None
    assert Webhook.objects.get().enabled is True  # one failed delivery is not days of failures


def test_410_disables_the_endpoint_at_once(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=410))
    emit_task_event(manager.account)
    deliver_due()
    assert WebhookDelivery.objects.get().status == "failed"
    shown = manager.client.get(f"/webhooks/{webhook['id']}").json()["webhook"]
    assert shown["enabled"] is False and "410" in shown["disabledReason"]
    emit_task_event(manager.account)
    deliver_due()
    assert len(receiver.requests) == 1 and WebhookDelivery.objects.count() == 1
    enabled = manager.client.put(f"/webhooks/{webhook['id']}", {"enabled": True}).json()["webhook"]
    assert enabled["enabled"] is True and enabled["disabledReason"] == ""


def test_an_endpoint_failing_for_the_configured_days_is_disabled(manager, receiver, settings):
    settings.TSKR_WEBHOOK_DISABLE_AFTER_DAYS = 5
    webhook = create_webhook(manager, receiver.url)
    Webhook.objects.filter(id=webhook["id"]).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    receiver.answer(Answer(status=500))
    emit_task_event(manager.account)
    deliver_due()
    shown = manager.client.get(f"/webhooks/{webhook['id']}").json()["webhook"]
    assert shown["enabled"] is False and "5 days" in shown["disabledReason"]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_up_to_the_next_slot(manager, receiver, settings, status):
    settings.TSKR_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800]
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=status, headers={"Retry-After": "120"}))
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert timedelta(seconds=119) <= delivery.next_attempt_at - delivery.last_attempt_at <= timedelta(seconds=122)

    receiver.answer(Answer(status=status, headers={"Retry-After": "100000"}))
    WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now())
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert timedelta(seconds=1799) <= delivery.next_attempt_at - delivery.last_attempt_at <= timedelta(seconds=1802)


def test_redirects_are_not_followed(manager, receiver):
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=302, headers={"Location": receiver.url + "/elsewhere"}))
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.response_status == 302
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_the_response_body_read_is_bounded(manager, receiver):
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=200, body=b"x" * 50_000))
    emit_task_event(manager.account)
    deliver_due()
    assert WebhookDelivery.objects.get().response_body == "x" * 1024


def test_a_timeout_is_a_failed_attempt(manager, receiver, settings):
    settings.TSKR_WEBHOOK_TIMEOUT_SECONDS = 1
    create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=200, pause=2.5))
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.response_status is None
    assert "Timed out" in delivery.response_body


# -- safe by default ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://localhost/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook",
                                 "https://192.168.0.10/hook", "https://[::1]/hook", "https://169.254.169.254/latest",
                                 "https://224.0.0.1/hook", "https://0.0.0.0/hook", "https://100.64.0.1/hook",
                                 "http://93.184.216.34/hook", "ftp://93.184.216.34/hook", "not a url",
                                 "https://user:pw@93.184.216.34/hook"])
def test_private_addresses_and_plain_http_are_refused_by_default(manager, settings, url):
    settings.TSKR_WEBHOOKS_ALLOW_PRIVATE = False
    response = manager.client.post("/webhooks", {"url": url})
    assert response.status_code == 400, url
    assert response.json()["error_code"] == "webhook_url_refused"


def test_an_update_to_a_private_address_is_refused(manager, receiver, settings):
    webhook = create_webhook(manager, receiver.url)
    settings.TSKR_WEBHOOKS_ALLOW_PRIVATE = False
    response = manager.client.put(f"/webhooks/{webhook['id']}", {"url": "https://localhost/hook"})
    assert response.status_code == 400 and response.json()["error_code"] == "webhook_url_refused"


def test_the_address_is_checked_again_at_connect_time(manager, receiver, settings):
    """A name that was public when saved and resolves to loopback now (DNS rebinding) is not connected to."""
    create_webhook(manager, f"https://localhost:{receiver.port}/hook")
    settings.TSKR_WEBHOOKS_ALLOW_PRIVATE = False
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.response_status is None
    assert delivery.response_body.startswith("Refused: localhost resolves to a non-public address")
    assert receiver.requests == []


# -- the outbox ---------------------------------------------------------------------------------

def test_a_rolled_back_change_emits_nothing(manager, receiver):
    create_webhook(manager, receiver.url)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            emit_task_event(manager.account)
            raise RuntimeError("the change fails after emitting")
    assert Event.objects.count() == 0
    deliver_due()
    assert receiver.requests == [] and WebhookDelivery.objects.count() == 0


def test_delivery_starts_on_commit_in_process_on_the_embedded_default(manager, receiver, settings,
                                                                       django_capture_on_commit_callbacks):
    settings.TSKR_WEBHOOK_DELIVERY = "inline"  # also on the Redis run
    create_webhook(manager, receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = emit_task_event(manager.account)
        assert receiver.requests == []
    assert len(callbacks) == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id]
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_a_delivery_whose_worker_died_mid_attempt_is_taken_by_the_sweep_after_its_lease(manager, receiver):
    create_webhook(manager, receiver.url)
    event = emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    # What a worker killed after claiming leaves behind: still pending, claimed, lease running.
    WebhookDelivery.objects.filter(id=delivery.id).update(status="pending", claimed_until=timezone.now() + timedelta(
        seconds=30), next_attempt_at=timezone.now())
    assert deliver_due()["delivered"] == 0
    WebhookDelivery.objects.filter(id=delivery.id).update(claimed_until=timezone.now() - timedelta(seconds=1))
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.claimed_until is None
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]


def test_an_event_whose_dispatch_was_lost_is_dispatched_by_the_sweep(manager, receiver):
    create_webhook(manager, receiver.url)
    event = emit_task_event(manager.account)  # its on-commit enqueue never runs in this test transaction
    assert Event.objects.get().dispatched_at is None
    assert deliver_due()["dispatched"] == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id]


def test_only_subscribed_enabled_endpoints_get_an_event(manager, receiver):
    create_webhook(manager, receiver.url, events=["task.created"])
    create_webhook(manager, receiver.url, events=["memory.created"])
    create_webhook(manager, receiver.url, enabled=False)
    emit_task_event(manager.account)
    deliver_due()
    assert len(receiver.requests) == 1


# -- test, replay, retry, logs ------------------------------------------------------------------

def test_the_test_endpoint_sends_a_webhook_test_event_at_once(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    response = manager.client.post(f"/webhooks/{webhook['id']}/test")
    assert response.status_code == 200
    delivery = response.json()["delivery"]
    assert delivery["status"] == "succeeded" and delivery["responseStatus"] == 200 and delivery["attempts"] == 1
    assert delivery["eventType"] == "webhook.test" and delivery["id"].startswith("whd_")
    payload = verify(webhook["secret"], receiver.requests[0])
    assert payload["type"] == "webhook.test" and payload["data"]["webhookId"] == webhook["id"]


def test_the_test_endpoint_reports_a_failing_receiver(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=500, body=b"nope"))
    delivery = manager.client.post(f"/webhooks/{webhook['id']}/test").json()["delivery"]
    assert delivery["status"] == "pending" and delivery["responseStatus"] == 500 and delivery["responseBody"] == "nope"


def test_replay_resends_the_events_since_a_moment_with_their_ids(manager, receiver):
    old = emit_task_event(manager.account, "before")
    Event.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=2))
    first, second = emit_task_event(manager.account, "one"), emit_task_event(manager.account, "two")
    deliver_due()  # no endpoint yet: nothing sent
    webhook = create_webhook(manager, receiver.url)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    response = manager.client.post(f"/webhooks/{webhook['id']}/replay", {"since": since})
    assert response.status_code == 200 and response.json() == {"ok": True, "replayed": 2}
    deliver_due()
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted([first.id, second.id])
    bad = manager.client.post(f"/webhooks/{webhook['id']}/replay", {"since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "validation_error"


def test_a_failed_delivery_can_be_retried(manager, receiver, settings):
    settings.TSKR_WEBHOOK_RETRY_SCHEDULE = [1]
    webhook = create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=410))
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    manager.client.put(f"/webhooks/{webhook['id']}", {"enabled": True})
    path = f"/webhooks/{webhook['id']}/deliveries/{delivery.id}/retry"
    response = manager.client.post(path)
    assert response.status_code == 200 and response.json()["delivery"]["status"] == "pending"
    again = manager.client.post(path)
    assert again.status_code == 409 and again.json()["error_code"] == "delivery_not_failed"
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2


def test_the_delivery_log_filters_newest_first(manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    receiver.answer(Answer(status=410))
    emit_task_event(manager.account)
    event_emit(account_id=manager.account.id, type=EventType.MEMORY_CREATED, data={"id": "mem_1"})
    deliver_due()
    base = f"/webhooks/{webhook['id']}/deliveries"
    body = manager.client.get(base).json()
    assert body["total"] == 2
    first = body["deliveries"][0]
    assert set(first) == {"id", "eventId", "eventType", "status", "attempts", "lastAttemptAt", "nextAttemptAt",
                          "responseStatus", "responseBody", "durationMs", "createdAt"}
    assert [d["status"] for d in manager.client.get(base, {"status": "failed"}).json()["deliveries"]] == ["failed"]
    by_type = manager.client.get(base, {"eventType": "task.created"}).json()["deliveries"]
    assert [d["eventType"] for d in by_type] == ["task.created"]
    assert manager.client.get(base, {"status": "lost"}).status_code == 400


@pytest.mark.parametrize("per_page", [1, 20])
def test_the_delivery_log_query_count(manager, receiver, django_assert_max_num_queries, per_page):
    webhook = create_webhook(manager, receiver.url)
    for _ in range(3):
        emit_task_event(manager.account)
    deliver_due()
    client = manager.client
    # The webhook (404 check), the count, the page with its events' types.
    with django_assert_max_num_queries(3):
        response = client.get(f"/webhooks/{webhook['id']}/deliveries", {"perPage": per_page})
    assert len(response.json()["deliveries"]) == min(per_page, 3)


@pytest.mark.parametrize("per_page", [1, 20])
def test_the_webhook_list_query_count(manager, receiver, django_assert_max_num_queries, per_page):
    for _ in range(3):
        create_webhook(manager, receiver.url)
    client = manager.client
    # The count, the page.
    with django_assert_max_num_queries(2):
        response = client.get("/webhooks", {"perPage": per_page})
    assert len(response.json()["webhooks"]) == min(per_page, 3)


def test_events_lists_the_retained_events_with_filters(manager, alice):
    expired = emit_task_event(manager.account)
    Event.objects.filter(id=expired.id).update(created_at=timezone.now() - timedelta(days=31))
    task = emit_task_event(manager.account)
    memory = event_emit(account_id=manager.account.id, type=EventType.MEMORY_CREATED, data={"id": "mem_1"})
    body = alice.client.get("/events").json()  # any token of the account reads them
    assert [e["id"] for e in body["events"]] == [task.id, memory.id]
    assert body["events"][0] == {"id": task.id, "type": "task.created",
                                 "timestamp": body["events"][0]["timestamp"], "data": task.data}
    assert [e["id"] for e in manager.client.get("/events", {"type": "memory.created"}).json()["events"]] == [memory.id]
    since = manager.client.get("/events", {"since": (timezone.now() + timedelta(minutes=1)).isoformat()}).json()
    assert since["total"] == 0
    assert manager.client.get("/events", {"since": "soon"}).status_code == 400
    assert manager.client.get("/events", {"type": "task.exploded"}).status_code == 400


def test_an_event_is_stored_as_emitted_and_a_keyed_one_once(manager, django_assert_num_queries):
    data = {"id": "task_1", "title": "Déjeuner \u2603 \"quoted\"", "tags": ["a", None], "nested": {"n": 1.5}}
    with django_assert_num_queries(1):  # a new keyed event: the one INSERT, no SELECT, no savepoint
        first = event_emit(account_id=manager.account.id, type=EventType.TASK_UPDATED, data=data,
                           previous_attributes={"title": "Lunch"}, key="task_1:update:7")
    stored = Event.objects.get(id=first.id)
    assert (stored.type, stored.data) == ("task.updated", {**data, "previousAttributes": {"title": "Lunch"}})
    assert abs((stored.created_at - first.created_at).total_seconds()) < 0.001
    again = event_emit(account_id=manager.account.id, type=EventType.TASK_UPDATED, data={"id": "other"},
                       key="task_1:update:7")
    assert again.id == first.id and again.data == stored.data  # the first event, not the second call's data
    assert Event.objects.filter(account=manager.account).count() == 1
    assert first.pk != event_emit(account_id=manager.account.id, type=EventType.TASK_UPDATED, data=data).pk


@pytest.mark.parametrize("per_page", [1, 20])
def test_the_event_list_query_count(manager, django_assert_max_num_queries, per_page):
    for _ in range(3):
        emit_task_event(manager.account)
    client = manager.client
    client.get("/events")  # the token's certificate is cached from here on
    # The count, the page.
    with django_assert_max_num_queries(2):
        response = client.get("/events", {"perPage": per_page})
    assert len(response.json()["events"]) == min(per_page, 3)


def test_events_older_than_the_retention_are_dropped_by_the_sweep(manager):
    expired = emit_task_event(manager.account)
    Event.objects.filter(id=expired.id).update(created_at=timezone.now() - timedelta(days=31))
    assert deliver_due()["expired"] == 1 and not Event.objects.filter(id=expired.id).exists()


# -- operations ---------------------------------------------------------------------------------

def test_health_reports_the_oldest_undelivered_event_age(manager, receiver):
    assert Client().get("/health").json()["checks"]["webhooks"]["oldestUndeliveredAgeSeconds"] is None
    create_webhook(manager, receiver.url)
    event = emit_task_event(manager.account)
    Event.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(seconds=90))
    age = Client().get("/health").json()["checks"]["webhooks"]["oldestUndeliveredAgeSeconds"]
    assert 89 < age < 120
    deliver_due()
    assert Client().get("/health").json()["checks"]["webhooks"]["oldestUndeliveredAgeSeconds"] is None


def test_the_management_command_delivers_due_deliveries(manager, receiver, capsys):
    create_webhook(manager, receiver.url)
    emit_task_event(manager.account)
    call_command("deliver_webhooks")
    assert "attempted 1 deliveries" in capsys.readouterr().out
    assert len(receiver.requests) == 1


def test_the_openapi_document_describes_every_event_types_data(db):
    schema = Client().get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for event_type in EventType.values:
        body = components[f"WebhookEvent.{event_type}"]
        assert body["properties"]["type"]["enum"] == [event_type] and "data" in body["required"]
    mapping = components["WebhookEventPayload"]["discriminator"]["mapping"]
    assert set(mapping) == set(EventType.values)
    for path in ("/webhooks", "/webhooks/{id}/rotate-secret", "/webhooks/{id}/test", "/webhooks/{id}/replay",
                 "/webhooks/{webhook_id}/deliveries", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
                 "/events"):
        assert path in schema["paths"], path


def test_the_staff_pages_never_show_a_secret_and_retry_failed_deliveries(admin_client, manager, receiver):
    webhook = create_webhook(manager, receiver.url)
    rotated = manager.client.post(f"/webhooks/{webhook['id']}/rotate-secret").json()["webhook"]
    for path in ["/staff/accounts/webhook/", f"/staff/accounts/webhook/{webhook['id']}/change/"]:
        page = admin_client.get(path).content.decode()
        assert webhook["id"] in page
        assert webhook["secret"] not in page and rotated["secret"] not in page
    receiver.answer(Answer(status=410))
    emit_task_event(manager.account)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert admin_client.get(f"/staff/accounts/webhookdelivery/{delivery.id}/change/").status_code == 200
    response = admin_client.post("/staff/accounts/webhookdelivery/", {"action": "retry",
                                                                      "_selected_action": [delivery.id]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
