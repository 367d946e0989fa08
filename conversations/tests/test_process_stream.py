"""POST /chats/:id/process with `Accept: text/event-stream`, through a real HTTP client against a live server.

pytest-django's `live_server` is Django's threaded development server (what `manage.py runserver`
runs); the shipped gunicorn configuration and `manage.py runserver` themselves run as subprocesses
in the last tests. The server's threads use their own database connections: the tests commit.
"""
import sys
import time

import httpx
import pytest

from conversations.models import Message
from tasks_app.models import Task
from tskr.infra.locks import is_locked, try_acquire
from tskr.testing import read_events, running_process

from .factories import ChatFactory
from .fake_anthropic import text, tool_use

pytestmark = pytest.mark.django_db(transaction=True)

SSE = {"Accept": "text/event-stream"}


def post(caller, chat, content, platform="chat", **metadata):
    response = caller.client.post(f"/chats/{chat.id}/messages",
                                  {"content": content, "platform": platform, "metadata": metadata})
    assert response.status_code == 201, response.json()
    return response.json()["message"]


def stream(base_url, caller, chat, *, until=None, timeout=20.0):
    """(response, events, pings) of a streamed process call, read to its end (or to the `until` event)."""
    headers = {**SSE, "Authorization": f"Bearer {caller.token()}"}
    with httpx.stream("POST", f"{base_url}/chats/{chat.id}/process", json={}, headers=headers,
                      timeout=timeout) as response:
        if response.status_code != 200:
            response.read()
            return response, [], 0
        events, pings = read_events(response.iter_lines(), until=until)
    return response, events, pings


def names(events):
    return [event.event for event in events]


def deltas(events):
    return "".join(event.data["text"] for event in events if event.event == "delta")


def sync_process(caller, chat):
    response = caller.client.post(f"/chats/{chat.id}/process", {})
    assert response.status_code == 200, response.json()
    return response.json()


def test_stream_sends_start_deltas_tasks_and_done_equal_to_the_synchronous_body(live_server, alice, chat):
    inbound = post(alice, chat, "Tess, remind me to call Dan tomorrow at 9am")
    response, events, _ = stream(live_server.url, alice, chat)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-store"
    task = Task.objects.get()
    kinds = names(events)
    assert kinds[0] == "start" and kinds[-2:] == ["task", "done"]
    assert set(kinds[1:-2]) == {"delta"} and len(kinds[1:-2]) > 3  # the reply came in pieces
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    assert events[0].data == {"chatId": chat.id, "messageId": inbound["id"]}
    assert events[-2].data["task"]["id"] == task.id and events[-2].data["task"]["type"] == "reminders"
    done = events[-1].data
    stored = Message.objects.get(role=Message.Role.ASSISTANT)
    assert done == {"ok": True, "taskIds": [task.id], "message": {
        "id": stored.id, "to": ["alice@acme.test"], "content": stored.content, "platform": "chat"}}
    assert deltas(events) == stored.content
    # The synchronous call now replays the same processing: the same body, marked replayed.
    assert sync_process(alice, chat) == {**done, "replayed": True}
    assert not is_locked(f"chat-process:{chat.id}")


def test_done_carries_the_bytes_of_the_synchronous_body(live_server, alice, assistant):
    streamed, synchronous = ChatFactory(assistant=assistant), ChatFactory(assistant=assistant)
    for chat in (streamed, synchronous):
        post(alice, chat, "Hi Tess, how are you today?")
    _, events, _ = stream(live_server.url, alice, streamed)
    body = httpx.post(f"{live_server.url}/chats/{synchronous.id}/process", json={},
                      headers={"Authorization": f"Bearer {alice.token()}"}).text
    # The two answers differ only by their reply's id.
    assert events[-1].event == "done"
    assert events[-1].raw == body.replace(_reply_id(synchronous), _reply_id(streamed))


def _reply_id(chat) -> str:
    return Message.objects.get(chat=chat, role=Message.Role.ASSISTANT).id


def test_a_suppressed_email_reply_streams_no_delta(live_server, alice, chat):
    post(alice, chat, "Tess, please schedule a meeting with Dan tomorrow at 3pm", platform="email",
         **{"from": "alice@acme.test", "to": ["tess@acme.test"], "subject": "Meeting"})
    _, events, _ = stream(live_server.url, alice, chat)
    task = Task.objects.get()
    assert names(events) == ["start", "task", "done"]
    assert events[-1].data == {"ok": True, "message": None, "taskIds": [task.id], "suppressed": True}


def test_an_ignored_group_message_streams_no_delta(live_server, alice, chat):
    post(alice, chat, "Lunch at noon, everyone?", participants=["alice@acme.test", "bob@acme.test",
                                                                "carol@acme.test"])
    _, events, _ = stream(live_server.url, alice, chat)
    assert names(events) == ["start", "done"]
    assert events[-1].data == {"ok": True, "message": None, "taskIds": [], "ignored": True}


def test_an_email_reply_that_is_sent_streams_its_deltas_after_the_decision(live_server, alice, chat):
    post(alice, chat, "Tess, can you book me a flight to Lisbon?", platform="email",
         **{"from": "alice@acme.test", "to": ["tess@acme.test"], "subject": "Trip"})
    _, events, _ = stream(live_server.url, alice, chat)
    assert names(events)[0] == "start" and names(events)[-2:] == ["task", "done"]
    assert deltas(events) == events[-1].data["message"]["content"]


def test_anthropic_engine_streams_the_model_text_as_it_is_written(live_server, anthropic_api, alice, chat):
    anthropic_api.answer(text("  Sure, I will remind you.  "), text("Anything else?\n"),
                         tool_use("create_task", {"title": "Call Dan", "type": "reminders", "status": "pending"}),
                         chunk_chars=5)
    post(alice, chat, "Tess, remind me to call Dan tomorrow at 9am")
    _, events, _ = stream(live_server.url, alice, chat)
    assert anthropic_api.requests[0]["body"]["stream"] is True
    pieces = [event.data["text"] for event in events if event.event == "delta"]
    assert len(pieces) > 5
    assert "".join(pieces) == "Sure, I will remind you.\n\nAnything else?"
    assert names(events)[-2:] == ["task", "done"]
    assert events[-2].data["task"]["title"] == "Call Dan"
    assert events[-1].data["message"]["content"] == "".join(pieces)


def test_anthropic_reply_made_from_the_tasks_is_streamed_at_the_end(live_server, anthropic_api, alice, chat):
    anthropic_api.answer(tool_use("create_task", {"title": "Book a flight", "type": "travel",
                                                  "status": "needs_clarification", "question": "Which dates?"}))
    post(alice, chat, "Tess, book me a flight to Lisbon")
    _, events, _ = stream(live_server.url, alice, chat)
    assert deltas(events) == "Which dates?" == events[-1].data["message"]["content"]


def test_an_engine_failure_mid_stream_is_an_error_event_and_nothing_is_stored(live_server, anthropic_api, alice,
                                                                               chat):
    anthropic_api.answer(text("This reply will not be finished"), chunk_chars=4, fail_after_chunks=2)
    post(alice, chat, "Hi Tess, how are you today?")
    _, events, _ = stream(live_server.url, alice, chat)
    assert names(events) == ["start", "delta", "delta", "error"]
    assert events[-1].data == {"error": "The AI engine failed while answering; retry shortly",
                               "error_code": "ai_unavailable"}
    assert len(anthropic_api.requests) == 1  # text was sent already: retrying would write it twice
    assert not Message.objects.filter(role=Message.Role.ASSISTANT).exists()
    assert Message.objects.get().processed_at is None
    assert not is_locked(f"chat-process:{chat.id}")
    # A new call answers (the fake's default answer).
    _, events, _ = stream(live_server.url, alice, chat)
    assert names(events)[-1] == "done" and deltas(events) == "Noted, thank you.\n\nBest,\nTess"


def test_a_failure_before_any_text_is_retried_without_repeating_deltas(live_server, anthropic_api, alice, chat):
    anthropic_api.answer(text("lost"), fail_after_chunks=0)
    anthropic_api.answer(text("Hello Alice."), chunk_chars=3)
    post(alice, chat, "Hi Tess, how are you today?")
    _, events, _ = stream(live_server.url, alice, chat)
    assert len(anthropic_api.requests) == 2
    assert deltas(events) == "Hello Alice." and names(events)[-1] == "done"


def test_ping_comments_are_sent_while_the_model_thinks(live_server, anthropic_api, alice, chat, settings):
    settings.TSKR_STREAM_PING_SECONDS = 0.2
    anthropic_api.answer(text("Thought it through."), delay=1.2)
    post(alice, chat, "Hi Tess, how are you today?")
    _, events, pings = stream(live_server.url, alice, chat)
    assert pings >= 3
    assert names(events)[0] == "start" and names(events)[-1] == "done"
    assert [event.id for event in events] == list(range(1, len(events) + 1))


def test_a_client_that_disconnects_does_not_stop_the_run_and_a_repeated_call_replays_it(
        live_server, anthropic_api, alice, chat):
    anthropic_api.answer(text("A long answer, written slowly, piece by piece."), chunk_chars=4, chunk_delay=0.1)
    inbound = post(alice, chat, "Hi Tess, how are you today?")
    _, events, _ = stream(live_server.url, alice, chat, until=lambda event: event.event == "delta")
    assert names(events) == ["start", "delta"]  # the client leaves here
    deadline = time.monotonic() + 15
    while Message.objects.get(id=inbound["id"]).processed_at is None:
        assert time.monotonic() < deadline, "the run stopped with its client"
        time.sleep(0.1)
    stored = Message.objects.get(role=Message.Role.ASSISTANT)
    assert stored.content == "A long answer, written slowly, piece by piece."
    _, events, _ = stream(live_server.url, alice, chat)
    assert names(events) == ["start", "delta", "done"]
    assert events[1].data == {"text": stored.content}
    assert events[-1].data["replayed"] is True and events[-1].data["message"]["id"] == stored.id
    assert len(anthropic_api.requests) == 1


def test_refusals_before_the_stream_starts_are_json_errors(live_server, alice, charlie, chat):
    headers = {**SSE, "Authorization": f"Bearer {alice.token()}"}
    url = f"{live_server.url}/chats/{chat.id}/process"
    nothing = httpx.post(url, json={}, headers=headers)
    assert nothing.status_code == 400 and nothing.headers["content-type"] == "application/json"
    assert nothing.json()["error_code"] == "nothing_to_process"
    post(alice, chat, "Hi Tess")
    lock = try_acquire(f"chat-process:{chat.id}", 30_000)
    busy = httpx.post(url, json={}, headers=headers)
    lock.release()
    assert busy.status_code == 409 and busy.json() == {"error": "Chat is already being processed",
                                                       "error_code": "chat_processing"}
    outsider = httpx.post(url, json={}, headers={**SSE, "Authorization": f"Bearer {charlie.token()}"})
    assert outsider.status_code == 404 and outsider.json()["error_code"] == "not_found"
    anonymous = httpx.post(url, json={}, headers=SSE)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/json"
    bad = httpx.post(url, content=b"{", headers={**headers, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "invalid_json"


def test_without_the_header_the_answer_is_json(live_server, alice, chat):
    post(alice, chat, "Hi Tess, how are you today?")
    response = httpx.post(f"{live_server.url}/chats/{chat.id}/process", json={},
                          headers={"Authorization": f"Bearer {alice.token()}", "Accept": "application/json"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json()["ok"] is True


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("server", ["gunicorn", "runserver"])
def test_streams_under_the_shipped_gunicorn_configuration_and_runserver(server, alice, chat):
    port = _free_port()
    command = {
        # docker/Dockerfile's command, on a free local port
        "gunicorn": [sys.executable, "-m", "gunicorn", "tskr.wsgi:application", "--bind", f"127.0.0.1:{port}",
                     "--workers", "2", "--threads", "4", "--timeout", "60"],
        "runserver": [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
    }[server]
    post(alice, chat, "Tess, remind me to call Dan tomorrow at 9am")
    with running_process(command, ready=lambda output: _listening(port)):
        _, events, _ = stream(f"http://127.0.0.1:{port}", alice, chat)
    assert names(events)[0] == "start" and names(events)[-2:] == ["task", "done"]
    assert deltas(events) == events[-1].data["message"]["content"]


def _listening(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def test_openapi_documents_the_event_stream_beside_the_json_body():
    from django.test import Client

    schema = Client().get("/openapi.json").json()
    ok = schema["paths"]["/chats/{chat_id}/process"]["post"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/ProcessResult"}
    described = ok["text/event-stream"]["schema"]["description"]
    assert all(f"`{event}`" in described for event in ("start", "delta", "task", "done", "error", ": ping"))


def test_async_wins_over_the_header(alice, chat):
    post(alice, chat, "Hi Tess, how are you today?")
    response = alice.client.post(f"/chats/{chat.id}/process", {"async": True}, headers=SSE)
    assert response.status_code == 202 and response["content-type"] == "application/json"
    assert response.json()["ok"] is True and response.json()["job"]["chatId"] == chat.id
