"""Usage accounting: every engine call recorded (conversations/usage.py), and GET /usage summing them."""
from datetime import datetime, timedelta, timezone

import pytest

from conversations.models import EngineCall
from tasks_app.services import task_create

from .factories import AssistantFactory, ChatFactory, EngineCallFactory
from .fake_anthropic import text, tool_use
from .test_process import post, process


# -- recording -------------------------------------------------------------------------------------------
def test_a_processed_chat_records_the_call_with_the_providers_token_counts(alice, chat, anthropic_api):
    post(alice, chat, "Hi Tess")
    process(alice, chat)
    call = EngineCall.objects.get()
    sent = anthropic_api.requests[0]["body"]
    reported = anthropic_api.usage_of(sent)  # the fake's counts for that exact request (now a cache read)
    assert (call.account, call.assistant, call.chat, call.task) == (alice.account, chat.assistant, chat, None)
    assert (call.model, call.outcome, call.tasks_created, call.error_code) == ("claude-test-model", "replied", 0, "")
    assert call.input_tokens == reported["input_tokens"] > 0 and call.output_tokens == 30
    assert call.cache_write_tokens == reported["cache_read_input_tokens"] > 0 and call.cache_read_tokens == 0
    assert call.latency_ms >= 0


def test_the_second_message_of_an_assistant_reads_the_cached_prefix(alice, bob, chat, anthropic_api):
    """The fake reports a cache read only for a byte-identical prefix: anything volatile in the system
    prompt's stable block or the tools (time, user, chat) would make this a second cache write."""
    other_chat = ChatFactory(assistant=chat.assistant)
    post(alice, chat, "Hi Tess, what is on my plate?")
    process(alice, chat)
    post(bob, other_chat, "Tess, anything for me today?", platform="email", **{"from": "bob@acme.test"})
    process(bob, other_chat)
    first, second = EngineCall.objects.order_by("id")
    assert first.cache_write_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_tokens and second.cache_write_tokens == 0
    assert second.chat == other_chat


def test_outcomes_ignored_suppressed_with_tasks_and_error_are_recorded(alice, chat, anthropic_api, settings):
    settings.TSKR_AI_MAX_RETRIES = 0
    anthropic_api.answer(tool_use("ignore_message", {}))
    post(alice, chat, "Bob, see you at lunch", platform="email",
         **{"from": "alice@acme.test", "to": ["bob@acme.test"], "cc": ["tess@acme.test"]})
    process(alice, chat)
    anthropic_api.answer(text("On it."), tool_use("create_task", {"title": "Pay rent", "type": "reminders",
                                                                  "status": "pending"}))
    post(alice, chat, "Tess, remind me to pay rent on Friday at 9am", platform="email",
         **{"from": "alice@acme.test", "to": ["tess@acme.test"]})
    assert process(alice, chat)["suppressed"] is True
    anthropic_api.answer(status=500)
    post(alice, chat, "Tess, and the water bill?", platform="email", **{"from": "alice@acme.test", "to": ["tess@acme.test"]})
    process(alice, chat, status=503)
    calls = list(EngineCall.objects.order_by("id").values_list("outcome", "tasks_created", "error_code"))
    assert calls == [("ignored", 0, ""), ("suppressed", 1, ""), ("error", 0, "ai_unavailable")]


def test_nothing_is_recorded_when_the_engine_is_not_called(alice, chat):
    process(alice, chat, status=400)  # no user message to answer
    assert not EngineCall.objects.exists()


def test_the_local_engine_records_zero_tokens(alice, chat):
    post(alice, chat, "Hi Tess")
    process(alice, chat)
    call = EngineCall.objects.get()
    assert (call.model, call.outcome) == ("local", "replied")
    assert (call.input_tokens, call.output_tokens, call.cache_read_tokens, call.cache_write_tokens) == (0, 0, 0, 0)


def test_task_processing_is_recorded_against_the_task(alice, assistant, anthropic_api):
    task = task_create(account=alice.account, assistant=assistant, actor_user=alice.user, title="Book a table",
                       type="scheduling", owner=alice.user)
    assert alice.client.post(f"/tasks/{task.id}/process", {"message": "for two"}).status_code == 200
    call = EngineCall.objects.get()
    assert (call.task, call.chat, call.assistant, call.outcome) == (task, None, assistant, "replied")
    assert call.output_tokens == 30 and call.cache_write_tokens > 0


def test_the_async_result_carries_usage_and_the_sync_body_does_not(alice, chat, anthropic_api):
    post(alice, chat, "Hi Tess")
    assert set(process(alice, chat)) == {"ok", "message", "taskIds"}
    post(alice, chat, "And again")
    job = alice.client.post(f"/chats/{chat.id}/process", {"async": True}).json()["job"]
    if job["status"] == "queued":  # a broker is configured: run what the worker would run
        from conversations import services

        services.chat_job_run(job_id=job["id"], account_id=alice.account.id)
    result = alice.client.get(f"/chats/{chat.id}/jobs/{job['id']}").json()["job"]["result"]
    call = EngineCall.objects.order_by("id").last()
    assert result["usage"] == {"inputTokens": call.input_tokens, "outputTokens": 30,
                               "cacheReadTokens": call.cache_read_tokens, "cacheWriteTokens": 0}
    assert call.cache_read_tokens > 0


# -- GET /usage --------------------------------------------------------------------------------------------
def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def calls(alice, charlie):
    """Acme's calls on March 1 and 2 (two assistants, two models, every outcome), and one of Globex's."""
    tess, max_ = AssistantFactory(account=alice.account, name="Tess"), AssistantFactory(account=alice.account)
    chat = ChatFactory(assistant=tess)
    rows = [
        EngineCallFactory(assistant=tess, chat=chat, created_at=at(1, 0), latency_ms=100, cache_read_tokens=500,
                          cache_write_tokens=40),
        EngineCallFactory(assistant=tess, chat=chat, created_at=at(1, 23), latency_ms=200, tasks_created=2,
                          outcome="suppressed"),
        EngineCallFactory(assistant=tess, chat=chat, created_at=at(1), latency_ms=300, outcome="ignored"),
        EngineCallFactory(assistant=max_, chat=None, created_at=at(2), latency_ms=400, model="claude-haiku-x"),
        EngineCallFactory(assistant=max_, chat=ChatFactory(assistant=max_), created_at=at(2), latency_ms=1000,
                          input_tokens=0, output_tokens=0, outcome="error", error_code="ai_timeout"),
    ]
    EngineCallFactory(assistant=AssistantFactory(account=charlie.account), created_at=at(1))
    EngineCallFactory(assistant=tess, created_at=at(3))  # outside the range asked
    return tess, max_, rows


def usage(caller, **params):
    response = caller.client.get("/usage", {"from": "2026-03-01", "to": "2026-03-02", **params})
    assert response.status_code == 200, response.json()
    return response.json()["usage"]


def test_usage_by_day_sums_the_recorded_calls(manager, calls, settings):
    settings.TSKR_MODEL_PRICES = {"claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cacheWrite": 3.75,
                                                        "cacheRead": 0.3}}
    body = usage(manager)
    assert (body["from"], body["to"], body["groupBy"], body["currency"]) == ("2026-03-01", "2026-03-02", "day", "USD")
    first, second = body["groups"]
    assert first == {
        "group": "2026-03-01", "calls": 3, "inputTokens": 3000, "outputTokens": 300, "cacheReadTokens": 500,
        "cacheWriteTokens": 40, "estimatedCost": round((3000 * 3 + 300 * 15 + 40 * 3.75 + 500 * 0.3) / 1e6, 6),
        "messagesProcessed": 3, "replies": 1, "ignored": 1, "suppressed": 1, "tasksCreated": 2, "errors": 0,
        "latencyMsP50": 200.0, "latencyMsP95": 290.0,
    }
    # the unpriced model costs nothing; the failed call is not a processed message; the call without a chat neither
    assert second["group"] == "2026-03-02" and second["estimatedCost"] == 0.0
    assert (second["calls"], second["messagesProcessed"], second["errors"], second["replies"]) == (2, 0, 1, 1)
    assert (second["latencyMsP50"], second["latencyMsP95"]) == (700.0, 970.0)


def test_usage_by_assistant_and_by_model(manager, calls):
    tess, max_, rows = calls
    by_assistant = {group["group"]: group for group in usage(manager, groupBy="assistant")["groups"]}
    assert set(by_assistant) == {tess.id, max_.id}
    assert by_assistant[tess.id]["calls"] == 3 and by_assistant[max_.id]["inputTokens"] == 1000
    by_model = {group["group"]: group["calls"] for group in usage(manager, groupBy="model")["groups"]}
    assert by_model == {"claude-sonnet-4-5": 4, "claude-haiku-x": 1}


def test_usage_defaults_to_the_last_30_days_by_day(manager, alice):
    EngineCallFactory(assistant=AssistantFactory(account=alice.account))
    body = manager.client.get("/usage").json()["usage"]
    today = datetime.now(timezone.utc).date()
    assert (body["from"], body["to"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    assert [group["group"] for group in body["groups"]] == [today.isoformat()]


def test_usage_is_one_query_whatever_the_range(manager, calls, django_assert_num_queries):
    usage(manager)  # warms the certificate cache
    # the one aggregate query (token verification is cached)
    for last_day in ("2026-03-02", "2026-12-31"):
        with django_assert_num_queries(1):
            usage(manager, to=last_day)


def test_usage_needs_a_management_token(alice, anonymous, charlie, calls):
    response = alice.client.get("/usage")
    assert response.status_code == 403 and response.json()["error_code"] == "management_token_required"
    assert anonymous.get("/usage").status_code == 401
    assert usage(charlie.management())["groups"][0]["calls"] == 1  # Globex sees its own call only


@pytest.mark.parametrize("params, field", [({"groupBy": "week"}, "groupBy"), ({"from": "2026-03-03"}, "from"),
                                           ({"to": "March"}, "to")])
def test_bad_usage_queries_are_400(manager, params, field):
    response = manager.client.get("/usage", {"from": "2026-03-01", "to": "2026-03-02", **params})
    assert response.status_code == 400 and response.json()["error_code"] == "validation_error"
    assert field in response.json()["details"]


def test_the_openapi_document_describes_usage(anonymous):
    schema = anonymous.get("/openapi.json").json()
    operation = schema["paths"]["/usage"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"from", "to", "groupBy"}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["usage"]
    assert body == {"$ref": "#/components/schemas/Usage"}
    group = schema["components"]["schemas"]["UsageGroup"]["properties"]
    assert {"calls", "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "estimatedCost",
            "messagesProcessed", "replies", "ignored", "suppressed", "tasksCreated", "errors", "latencyMsP50",
            "latencyMsP95"} <= set(group)
    assert "management_token_required" in operation["responses"]["403"]["description"]
