"""POST /chats/:id/process with the offline engine: every response shape and the ignore, CC and suppression rules."""
import pytest
from django.db import connection

from admin_catalog.tests.factories import AgentFactory, SkillFactory
from conversations import services
from conversations.models import ChatJob, Message
from tasks_app.models import Task
from tskr.infra.locks import is_locked


def post(caller, chat, content, platform="chat", **metadata):
    response = caller.client.post(f"/chats/{chat.id}/messages",
                                  {"content": content, "platform": platform, "metadata": metadata})
    assert response.status_code == 201, response.json()
    return response.json()["message"]


def process(caller, chat, status=200, **body):
    response = caller.client.post(f"/chats/{chat.id}/process", body)
    assert response.status_code == status, response.json()
    return response.json()


def assistant_messages(chat):
    return list(Message.objects.filter(chat=chat, role=Message.Role.ASSISTANT))


@pytest.mark.smoke
def test_chat_reply_is_stored_and_addressed_to_the_sender(alice, chat):
    inbound = post(alice, chat, "Hi Tess, how are you today?")
    body = process(alice, chat)
    stored, = assistant_messages(chat)
    assert body == {"ok": True, "taskIds": [], "message": {
        "id": stored.id, "to": ["alice@acme.test"], "content": stored.content, "platform": "chat"}}
    assert stored.content == "Hi Alice! What can I do for you?"  # a chat is answered as a chat: no letter
    assert stored.metadata["inReplyTo"] == inbound["id"] and stored.metadata["to"] == ["alice@acme.test"]
    assert alice.client.get(f"/chats/{chat.id}").json()["chat"]["messageCount"] == 2
    assert not is_locked(f"chat-process:{chat.id}")


def test_email_reply_goes_to_the_sender_and_copies_the_other_humans_with_one_re(alice, chat):
    post(alice, chat, "Tess, what is on my plate?", platform="email", **{
        "from": "Alice Archer <alice@acme.test>", "to": ["tess@acme.test", "dan@partner.test"],
        "cc": ["Bob <bob@acme.test>", "tess@acme.test"], "subject": "RE: Weekly plan"})
    message = process(alice, chat)["message"]
    assert message["to"] == ["alice@acme.test"]
    assert message["cc"] == ["dan@partner.test", "bob@acme.test"]
    assert message["subject"] == "RE: Weekly plan" and message["platform"] == "email"
    assert assistant_messages(chat)[0].metadata["cc"] == ["dan@partner.test", "bob@acme.test"]


def test_email_subject_gets_re_once(alice, chat):
    post(alice, chat, "Tess, any news?", platform="email", **{"from": "alice@acme.test", "to": ["tess@acme.test"],
                                                               "subject": "Budget"})
    assert process(alice, chat)["message"]["subject"] == "Re: Budget"


def test_email_with_a_created_task_is_suppressed_and_the_task_is_linked(alice, bob, chat):
    bob.user
    inbound = post(alice, chat, "Tess, please schedule a meeting with Dan tomorrow at 3pm", platform="email", **{
        "from": "bob@acme.test", "to": ["tess@acme.test"], "cc": ["alice@acme.test"], "subject": "Meeting"})
    body = process(alice, chat)
    task = Task.objects.get()
    assert body == {"ok": True, "message": None, "taskIds": [task.id], "suppressed": True}
    assert task.type == "scheduling" and task.status == "pending" and task.source_chat == chat
    assert task.owner == bob.user and task.assistant == chat.assistant
    assert task.metadata == {"sourceMessageId": inbound["id"]} and "3pm" in task.description
    assert assistant_messages(chat) == []


def test_clarification_email_goes_to_the_sender_only(alice, chat):
    post(alice, chat, "Tess, can you book me a flight to Lisbon?", platform="email", **{
        "from": "alice@acme.test", "to": ["tess@acme.test"], "cc": ["bob@acme.test", "carol@acme.test"],
        "subject": "Trip"})
    body = process(alice, chat)
    task = Task.objects.get()
    assert task.type == "travel" and task.status == "needs_clarification" and task.owner == alice.user
    assert body["taskIds"] == [task.id] and "suppressed" not in body
    assert body["message"]["to"] == ["alice@acme.test"] and body["message"]["cc"] == []
    assert "What dates are you travelling?" in body["message"]["content"]
    assert assistant_messages(chat)[0].metadata["taskIds"] == [task.id]


@pytest.mark.parametrize("platform", ["sms", "whatsapp", "slack", "teams", "chat"])
def test_other_platforms_address_everyone_flattened(alice, chat, platform):
    post(alice, chat, "Tess, thanks for the update", platform=platform,
         **{"from": "+15550001", "participants": ["+15550001", "+15550002", "tess@acme.test", "+15550003"]})
    message = process(alice, chat)["message"]
    assert message == {"id": message["id"], "to": ["+15550001", "+15550002", "+15550003"],
                       "content": message["content"], "platform": platform}


def test_a_participant_is_one_person_whatever_the_spelling_of_their_phone(alice, chat):
    post(alice, chat, "Tess, thanks for the update", platform="sms",
         **{"from": "+1 (415) 555-0101", "participants": ["+14155550101", "+1 415 555 0102", "+1-415-555-0102"]})
    assert process(alice, chat)["message"]["to"] == ["+1 (415) 555-0101", "+1 415 555 0102"]


def test_other_platform_clarification_goes_to_the_sender_only_and_is_not_suppressed(alice, chat):
    post(alice, chat, "Tess remind me to call the bank", platform="slack",
         **{"from": "U-ALICE", "participants": ["U-ALICE", "U-BOB"]})
    body = process(alice, chat)
    assert Task.objects.get().status == "needs_clarification"
    assert body["message"]["to"] == ["U-ALICE"] and "When should I remind you?" in body["message"]["content"]


def test_replies_keep_handles_as_the_gateway_spelled_them_and_compare_them_case_insensitively(alice, chat):
    post(alice, chat, "Tess, thanks for the update", platform="slack",
         **{"from": "U1", "participants": ["u1", "U2", "u2", "TESS", "W3x"]})
    assert process(alice, chat)["message"]["to"] == ["U1", "U2", "W3x"]
    assert assistant_messages(chat)[0].metadata["to"] == ["U1", "U2", "W3x"]


def test_a_slack_sender_is_recognised_whatever_the_case_of_its_id(alice, bob, chat):
    assert bob.client.post("/identifiers", {"type": "slack", "value": "U0BOB"}).status_code == 201
    post(alice, chat, "Remind me on Friday at 9am to send the deck", platform="slack", **{"from": "u0bob"})
    process(alice, chat)
    assert Task.objects.get().owner == bob.user


def test_a_task_from_an_unknown_sender_is_owned_by_the_user_who_posted_the_message(alice, chat):
    post(alice, chat, "Remind me on Friday at 9am to call the bank", platform="sms", **{"from": "+15550009999"})
    process(alice, chat)
    assert Task.objects.get().owner == alice.user


def test_an_inactive_assistant_answers_nothing(alice, manager, chat):
    post(alice, chat, "Remind me on Friday at 9am to call the bank")
    manager.client.put(f"/assistants/{chat.assistant_id}", {"status": "inactive"})
    body = process(alice, chat, status=409)
    assert body == {"error": "The chat's assistant is inactive; activate it to have messages answered",
                    "error_code": "assistant_inactive"}
    response = alice.client.post(f"/chats/{chat.id}/process", {"async": True})
    assert response.status_code == 409 and response.json()["error_code"] == "assistant_inactive"
    assert assistant_messages(chat) == [] and not Task.objects.exists() and not ChatJob.objects.exists()
    assert not is_locked(f"chat-process:{chat.id}")
    manager.client.put(f"/assistants/{chat.assistant_id}", {"status": "active"})
    assert process(alice, chat)["message"] is not None


def test_sms_with_a_complete_request_replies_and_creates_the_task(alice, chat):
    post(alice, chat, "Remind me on Friday at 9am to send the invoice", platform="sms")
    body = process(alice, chat)
    task = Task.objects.get()
    assert task.type == "reminders" and task.status == "pending" and body["taskIds"] == [task.id]
    assert body["message"]["to"] == ["alice@acme.test"] and "Reminder: " in body["message"]["content"]


def test_group_email_not_addressing_the_assistant_is_ignored(alice, chat):
    post(alice, chat, "Bob, lunch at noon?", platform="email", **{
        "from": "alice@acme.test", "to": ["bob@acme.test"], "cc": ["tess@acme.test"], "subject": "Lunch"})
    assert process(alice, chat) == {"ok": True, "message": None, "taskIds": [], "ignored": True}
    assert assistant_messages(chat) == [] and not Task.objects.exists()


def test_group_message_naming_the_assistant_is_always_processed(alice, chat):
    post(alice, chat, "@tess can you schedule this for next week?", platform="slack",
         **{"from": "U1", "participants": ["U1", "U2", "U3"]})
    body = process(alice, chat)
    assert "ignored" not in body and Task.objects.get().type == "scheduling"


def test_group_email_with_the_assistant_in_to_is_processed(alice, chat):
    post(alice, chat, "Thoughts on this?", platform="email", **{
        "from": "alice@acme.test", "to": ["tess@acme.test", "bob@acme.test"], "subject": "Plan"})
    body = process(alice, chat)
    assert "ignored" not in body and body["message"]["cc"] == ["bob@acme.test"]


def test_group_message_the_engine_judges_meant_for_the_assistant_is_processed(alice, chat):
    post(alice, chat, "Could the assistant share the agenda?", platform="teams",
         **{"from": "alice@acme.test", "participants": ["alice@acme.test", "bob@acme.test"]})
    body = process(alice, chat)
    assert "ignored" not in body and body["message"]["to"] == ["alice@acme.test", "bob@acme.test"]


def test_a_one_to_one_message_is_never_ignored(alice, chat):
    post(alice, chat, "Lunch at noon?", platform="email", **{"from": "alice@acme.test", "to": ["tess@acme.test"]})
    assert process(alice, chat)["message"]["to"] == ["alice@acme.test"]


def test_only_skills_enabled_on_the_agent_create_tasks(alice, chat):
    reminders = SkillFactory(name="reminders")
    SkillFactory(name="scheduling", status="coming_soon")
    agent = AgentFactory(skills=[reminders])
    chat.assistant.agent = agent
    chat.assistant.save()
    post(alice, chat, "Please schedule a sync with Bob on Monday at 10am")
    body = process(alice, chat)
    assert body["taskIds"] == [] and "can't help with scheduling" in body["message"]["content"]
    post(alice, chat, "Remind me on Monday at 10am to prepare")
    assert len(process(alice, chat)["taskIds"]) == 1 and Task.objects.get().type == "reminders"


def test_process_without_a_user_message_is_400(alice, chat):
    body = process(alice, chat, status=400)
    assert body["error_code"] == "nothing_to_process"


def test_process_answers_409_when_the_chat_is_locked_and_leaves_the_holder_alone(alice, chat):
    from tskr.infra.locks import try_acquire

    post(alice, chat, "Hi Tess")
    held = try_acquire(f"chat-process:{chat.id}", 30_000)
    body = process(alice, chat, status=409)
    assert body == {"error": "Chat is already being processed", "error_code": "chat_processing"}
    assert is_locked(f"chat-process:{chat.id}") and held.release()
    assert process(alice, chat)["message"] is not None


def test_a_chat_whose_assistant_was_deleted_is_still_answered(alice, manager, chat):
    post(alice, chat, "Hello?")
    manager.client.delete(f"/assistants/{chat.assistant_id}")
    body = process(alice, chat)
    assert body["message"]["to"] == ["alice@acme.test"] and assistant_messages(chat)[0].metadata["from"] == ""


@pytest.mark.django_db(transaction=True)
def test_a_failed_reply_write_leaves_no_tasks_and_frees_the_lock(alice, chat):
    """Fault injected in PostgreSQL itself: inserting the assistant's reply fails after the task was created."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    post(alice, chat, "Tess, can you book me a flight to Lisbon?", platform="sms")
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION refuse_replies() RETURNS trigger AS $$
            BEGIN IF NEW.role = 'assistant' THEN RAISE EXCEPTION 'replies refused'; END IF; RETURN NEW; END
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_replies BEFORE INSERT ON conversations_message
            FOR EACH ROW EXECUTE FUNCTION refuse_replies();""")
    try:
        response = alice.client.post(f"/chats/{chat.id}/process")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_replies ON conversations_message; DROP FUNCTION refuse_replies();")
    assert response.status_code == 500 and response.json()["error_code"] == "internal_error"
    assert not Task.objects.exists() and assistant_messages(chat) == []
    assert not is_locked(f"chat-process:{chat.id}")
    assert services.chat_process(chat=chat).task_ids  # and it works once the fault is gone
