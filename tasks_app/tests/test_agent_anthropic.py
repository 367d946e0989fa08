"""The scheduling agent with the Anthropic engine, through the real SDK against the local fake Messages
API returning tool calls: one model call per processed message, candidates numbered before the call,
every slot and time validated by the server."""
from datetime import datetime, timedelta

from calendars_app.tests.conftest import providers  # noqa: F401  fixture
from conversations.tests.fake_anthropic import text, tool_use
from directory.tests.factories import ContactFactory
from tasks_app.models import Meeting, Task

from .agent_fixtures import (  # noqa: F401  fixtures
    ADELAIDE, LONDON, agent_inline, alice_calendar, ava, bob_calendar, email, inbox, iso, outbound, process,
    reading, resync,
)


def create(description="Find 30 minutes with Carol next week", **extra):
    return tool_use("create_task", {"title": "Meet Carol", "type": "scheduling", "status": "pending",
                                    "description": description, **extra})


def start_request(alice, inbox, anthropic_api, capture, cc=("carol@partner.test",), **extra):
    anthropic_api.answer(text("On it."), create(**extra))
    email(alice, inbox, "Ava, could you find us 30 minutes next week?", sender="alice@acme.test", cc=cc)
    body = process(alice, inbox, capture)
    [task_id] = body["taskIds"]
    return body, Task.objects.get(id=task_id)


def proposal_of(task) -> Meeting:
    return Meeting.objects.get(task=task, status=Meeting.Status.PROPOSED)


def reply(alice, inbox, capture, content="The second one is good"):
    email(alice, inbox, content, sender="carol@partner.test", cc=("alice@acme.test",))
    return process(alice, inbox, capture)


def test_the_whole_flow_makes_one_model_call_per_message_and_books_the_slot_the_model_names(
        alice, inbox, alice_calendar, anthropic_api, django_capture_on_commit_callbacks):
    body, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks)
    assert body["suppressed"] is True and len(anthropic_api.requests) == 1  # the first step calls no model
    task.refresh_from_db()
    slots = proposal_of(task).slots
    assert task.metadata["waitingFor"] == "reply" and len(slots) == 3
    [proposal] = outbound(inbox)
    assert proposal.metadata["to"] == ["carol@partner.test"] and "Europe/London" in proposal.content

    anthropic_api.answer(tool_use("book_slot", {"taskId": task.id, "slot": 2}))
    body = reply(alice, inbox, django_capture_on_commit_callbacks)
    assert len(anthropic_api.requests) == 2
    sent = anthropic_api.requests[1]["body"]
    stable, volatile = sent["system"]
    assert {"book_slot", "propose_times", "ask_owner", "continue_task", "create_task", "ignore_message"} == {
        tool["name"] for tool in sent["tools"]}
    assert task.id not in stable["text"]  # the open tasks stay out of the cached prefix...
    assert len(anthropic_api.cached_prefixes) == 1  # ...so the second call reads the first one's cache
    first = datetime.fromisoformat(slots[0]["start"]).astimezone(LONDON).isoformat()
    assert f"- {task.id} (scheduling, in_progress, waiting for reply): Meet Carol" in volatile["text"]
    assert f"slot 1 (proposed): {first}" in volatile["text"]
    assert "slot 4 (free, not yet proposed)" in volatile["text"]  # candidates computed before the call
    task.refresh_from_db()
    booked = Meeting.objects.get(task=task, status="booked")
    assert booked.start_at == datetime.fromisoformat(slots[1]["start"]) and task.status == "completed"
    assert body["taskIds"] == [task.id] and body["message"]["id"] == outbound(inbox)[-1].id
    assert "booked for" in body["message"]["content"]


def test_a_candidate_slot_not_yet_proposed_may_be_booked_by_its_number(
        alice, inbox, alice_calendar, anthropic_api, django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks)
    anthropic_api.answer(tool_use("propose_times", {"taskId": task.id}))  # learn the candidates first
    reply(alice, inbox, django_capture_on_commit_callbacks, "None of these work")
    volatile = anthropic_api.requests[-1]["body"]["system"][1]["text"]
    line = next(line for line in volatile.splitlines() if line.strip().startswith("slot 4 "))
    candidate = datetime.fromisoformat(line.split(": ", 1)[1])
    task.refresh_from_db()
    assert candidate in [datetime.fromisoformat(s["start"]) for s in proposal_of(task).slots]  # what was proposed
    anthropic_api.answer(tool_use("book_slot", {"taskId": task.id, "slot": 5}))
    reply(alice, inbox, django_capture_on_commit_callbacks, "Any of the new ones, you pick")
    volatile = anthropic_api.requests[-1]["body"]["system"][1]["text"]
    fifth = datetime.fromisoformat(next(line for line in volatile.splitlines()
                                        if line.strip().startswith("slot 5 ")).split(": ", 1)[1])
    assert Meeting.objects.get(task=task, status="booked").start_at == fifth


def test_an_explicit_time_that_is_busy_is_never_booked_and_gets_new_slots(
        alice, inbox, alice_calendar, anthropic_api, django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks)
    busy = reading("Thursday at 3pm", LONDON)
    alice_calendar.google_event("alice@acme.test", "busy", iso(busy), iso(busy + timedelta(hours=1)))
    resync(alice)
    anthropic_api.answer(tool_use("book_slot", {"taskId": task.id, "start": busy.isoformat()}))
    body = reply(alice, inbox, django_capture_on_commit_callbacks, "Thursday at 3pm?")
    task.refresh_from_db()
    assert not Meeting.objects.filter(task=task, status="booked").exists()
    assert task.metadata["round"] == 2 and "doesn't work for everyone" in body["message"]["content"]


def test_a_slot_or_task_the_server_did_not_offer_is_never_acted_on(
        alice, inbox, ava, alice_calendar, anthropic_api, django_capture_on_commit_callbacks):
    from conversations.tests.factories import ChatFactory

    _, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks)
    anthropic_api.answer(text("Let me check."), tool_use("book_slot", {"taskId": task.id, "slot": 9}))
    body = reply(alice, inbox, django_capture_on_commit_callbacks)
    assert body["message"]["content"] == "Let me check." and body["taskIds"] == []
    elsewhere = ChatFactory(assistant=ava)
    anthropic_api.answer(text("Sure."), tool_use("book_slot", {"taskId": task.id, "slot": 1}))
    email(alice, elsewhere, "The first one", sender="carol@partner.test")
    assert process(alice, elsewhere, django_capture_on_commit_callbacks)["taskIds"] == []
    assert "Open tasks" not in anthropic_api.requests[-1]["body"]["system"][1]["text"]
    task.refresh_from_db()
    assert task.status == "in_progress" and not Meeting.objects.filter(task=task, status="booked").exists()


def test_a_fixed_time_from_the_model_is_booked_when_free(alice, inbox, alice_calendar, anthropic_api,
                                                         django_capture_on_commit_callbacks):
    when = reading("next Wednesday at 11am", LONDON)
    _, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks,
                            description="Meet Carol", start=when.isoformat())
    task.refresh_from_db()
    assert task.status == "completed" and Meeting.objects.get(task=task).start_at == when


def test_the_owner_is_asked_and_the_answer_continues_the_task(alice, inbox, alice_calendar, anthropic_api,
                                                              django_capture_on_commit_callbacks):
    _, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks)
    anthropic_api.answer(tool_use("ask_owner", {"taskId": task.id, "question": "Carol asks for an hour. OK?"}))
    body = reply(alice, inbox, django_capture_on_commit_callbacks, "Could we make it an hour instead?")
    task.refresh_from_db()
    assert body["message"]["to"] == ["alice@acme.test"] and body["message"]["cc"] == []
    assert "Carol asks for an hour. OK?" in body["message"]["content"]
    assert task.status == "needs_clarification" and task.metadata["waitingFor"] == "owner"


def test_two_internal_participants_in_different_zones(alice, bob, inbox, alice_calendar, bob_calendar, anthropic_api,
                                                      django_capture_on_commit_callbacks):
    ContactFactory(user=alice.user, name="Carol", email="carol@partner.test", timezone="Australia/Adelaide")
    resync(bob)
    _, task = start_request(alice, inbox, anthropic_api, django_capture_on_commit_callbacks,
                            cc=("bob@acme.test", "carol@partner.test"))
    assert task.metadata["scheduling"]["internalEmails"] == ["alice@acme.test", "bob@acme.test"]
    [proposal] = outbound(inbox)
    assert "Australia/Adelaide" in proposal.content and proposal.metadata["cc"] == ["alice@acme.test",
                                                                                   "bob@acme.test"]
    slots = proposal_of(task).slots
    anthropic_api.answer(tool_use("book_slot", {"taskId": task.id, "slot": 3}))
    reply(alice, inbox, django_capture_on_commit_callbacks, "Number 3 please")
    assert Meeting.objects.get(task=task, status="booked").start_at == datetime.fromisoformat(slots[2]["start"])
    first = datetime.fromisoformat(slots[0]["start"]).astimezone(ADELAIDE).isoformat()
    assert f"slot 1 (proposed): {first}" in anthropic_api.requests[-1]["body"]["system"][1]["text"]


def test_a_clarification_answered_in_the_chat_continues_the_same_task(alice, inbox, alice_calendar, anthropic_api,
                                                                       django_capture_on_commit_callbacks):
    anthropic_api.answer(text("When would suit you?"), tool_use("create_task", {
        "title": "Meet Carol", "type": "scheduling", "status": "needs_clarification", "question": "When?"}))
    email(alice, inbox, "Ava, set up a call with Carol", sender="alice@acme.test", cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task = Task.objects.get(id=body["taskIds"][0])
    assert task.status == "needs_clarification" and body["message"]["to"] == ["alice@acme.test"]
    when = reading("Thursday at 11am", LONDON)
    anthropic_api.answer(tool_use("book_slot", {"taskId": task.id, "start": when.isoformat()}))
    email(alice, inbox, "Thursday at 11am works", sender="alice@acme.test", cc=("carol@partner.test",))
    body = process(alice, inbox, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert Task.objects.count() == 1 and body["taskIds"] == [task.id] and task.status == "completed"
    assert Meeting.objects.get(task=task).start_at == when and "booked for" in body["message"]["content"]
    assert f"- {task.id} (scheduling, needs_clarification)" in anthropic_api.requests[-1]["body"]["system"][1]["text"]
