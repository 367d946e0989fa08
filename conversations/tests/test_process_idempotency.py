"""Idempotency-Key on POST /chats/:id/process: the costly write a client most needs to retry safely."""
from conversations.models import EngineCall

from .fake_anthropic import text
from .test_process import assistant_messages, post

KEY = {"Idempotency-Key": "process-1"}


def test_a_retried_process_is_answered_from_the_first_run_without_calling_the_model(alice, chat, anthropic_api):
    anthropic_api.answer(text("Happy to help!"))
    post(alice, chat, "Hello Tess")
    first = alice.client.post(f"/chats/{chat.id}/process", headers=KEY)
    retry = alice.client.post(f"/chats/{chat.id}/process", headers=KEY)
    assert first.status_code == retry.status_code == 200 and retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(anthropic_api.requests) == 1 and len(assistant_messages(chat)) == 1 and EngineCall.objects.count() == 1


def test_a_process_that_failed_with_a_503_runs_again_on_retry(alice, chat, anthropic_api, settings):
    settings.TSKR_AI_MAX_RETRIES = 0
    anthropic_api.answer(status=529, error_type="overloaded_error")
    post(alice, chat, "Hello Tess")
    failed = alice.client.post(f"/chats/{chat.id}/process", headers=KEY)
    assert failed.status_code == 503 and failed.json()["error_code"] == "ai_unavailable"
    retry = alice.client.post(f"/chats/{chat.id}/process", headers=KEY)
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert len(anthropic_api.requests) == 2 and len(assistant_messages(chat)) == 1
