import json

import pytest

from conversations import services
from conversations.api.serializers import MessageSerializer
from conversations.models import Chat, Message
from directory.tests.factories import MemoryFactory
from tskr.testing import run_together

from .factories import ChatFactory
from .fake_anthropic import text


@pytest.mark.smoke
def test_add_message_returns_201_and_updates_the_chat_counters(alice, chat):
    response = alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hello!", "files": []})
    assert response.status_code == 201, response.json()
    message = response.json()["message"]
    assert message["role"] == "user" and message["platform"] == "chat" and message["content"] == "Hello!"
    assert message["files"] == [] and message["metadata"] == {} and message["timestamp"]
    chat_body = alice.client.get(f"/chats/{chat.id}").json()["chat"]
    assert chat_body["messageCount"] == 1 and chat_body["lastMessageAt"] == message["timestamp"]
    assert Message.objects.get(id=message["id"]).sender == alice.user


def test_add_message_resolves_the_sender_from_metadata_from(alice, bob, chat):
    bob.user  # provisioned with his email identifier
    response = alice.client.post(f"/chats/{chat.id}/messages", {
        "content": "Hi", "platform": "email",
        "metadata": {"from": "Bob Baker <Bob@Acme.test>", "to": ["tess@acme.test"], "subject": "Hi"}})
    assert response.status_code == 201, response.json()
    message = Message.objects.get(id=response.json()["message"]["id"])
    assert message.sender == bob.user and message.posted_by == alice.user
    stranger = alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "metadata": {"from": "x@y.test"}})
    assert Message.objects.get(id=stranger.json()["message"]["id"]).sender is None


@pytest.mark.parametrize(("stored", "sent"), [("+1 (415) 555-0100", "+14155550100"),
                                              ("+14155550100", "+1 415-555-0100")])
def test_add_message_resolves_a_phone_sender_whatever_its_spelling(alice, bob, chat, stored, sent):
    assert bob.client.post("/identifiers", {"type": "phone", "value": stored}).status_code == 201
    response = alice.client.post(f"/chats/{chat.id}/messages", {"content": "Hi", "platform": "sms",
                                                                "metadata": {"from": sent}})
    assert response.status_code == 201, response.json()
    assert Message.objects.get(id=response.json()["message"]["id"]).sender == bob.user


def test_the_senders_private_memories_reach_the_engine_only_when_they_posted_themselves(alice, bob, chat,
                                                                                     anthropic_api):
    MemoryFactory(user=bob.user, title="Door code", content="4711")
    anthropic_api.answer(text("Noted."))
    anthropic_api.answer(text("Noted."))
    for caller in (alice, bob):  # Alice naming Bob as the sender, then Bob himself
        caller.client.post(f"/chats/{chat.id}/messages", {
            "content": "What is my door code?", "metadata": {"from": "bob@acme.test"}})
        assert caller.client.post(f"/chats/{chat.id}/process").status_code == 200
    named, genuine = (request["body"]["system"][1]["text"] for request in anthropic_api.requests)
    assert "bob@acme.test" in named and "4711" not in named
    assert "Door code: 4711" in genuine


def test_add_message_validates_role_platform_content_and_addressing_metadata(alice, chat):
    for body, field in (({"content": ""}, "content"), ({"content": "x", "role": "system"}, "role"),
                        ({"content": "x", "platform": "fax"}, "platform"),
                        ({"content": "x", "metadata": {"to": [1, 2]}}, "metadata.to"),
                        ({"content": "x", "metadata": {"from": ["a"]}}, "metadata.from"),
                        ({"content": "x", "metadata": "nope"}, "metadata")):
        response = alice.client.post(f"/chats/{chat.id}/messages", body)
        assert response.status_code == 400 and response.json()["error_code"] == "validation_error", body
        assert field in response.json()["details"], response.json()
    assert Chat.objects.get(id=chat.id).message_count == 0


def test_list_messages_oldest_first_with_pagination(alice, chat):
    ids = [services.message_add(chat=chat, actor=alice.user, content=f"m{n}").id for n in range(3)]
    body = alice.client.get(f"/chats/{chat.id}/messages", {"perPage": 2}).json()
    assert [m["id"] for m in body["messages"]] == ids[:2]
    assert (body["total"], body["page"], body["perPage"]) == (3, 1, 2)
    assert [m["id"] for m in alice.client.get(f"/chats/{chat.id}/messages", {"page": 2, "perPage": 2})
            .json()["messages"]] == ids[2:]


def test_list_messages_past_the_end_or_of_an_empty_chat_still_gives_the_total(alice, chat, assistant):
    for n in range(3):
        services.message_add(chat=chat, actor=alice.user, content=f"m{n}")
    body = alice.client.get(f"/chats/{chat.id}/messages", {"page": 3, "perPage": 2}).json()
    assert (body["messages"], body["total"], body["page"], body["perPage"]) == ([], 3, 3, 2)
    empty = ChatFactory(assistant=assistant)
    body = alice.client.get(f"/chats/{empty.id}/messages").json()
    assert (body["messages"], body["total"], body["perPage"]) == ([], 0, 20)
    missing = alice.client.get("/chats/chat_missing/messages", {"page": 2})
    assert missing.status_code == 404 and missing.json()["error_code"] == "not_found"


def test_list_message_items_are_exactly_what_the_message_serializer_gives(alice, chat):
    services.message_add(chat=chat, actor=alice.user, content="Hi", platform="email",
                         files=[{"url": "https://x.test/a.png"}], metadata={"subject": "Hello", "to": ["a@b.test"]})
    services.message_add(chat=chat, actor=alice.user, content="Reply", role="assistant")
    listed = alice.client.get(f"/chats/{chat.id}/messages").json()["messages"]
    expected = [MessageSerializer(message).data for message in Message.objects.filter(chat=chat)
                .order_by("timestamp", "id")]
    assert listed == json.loads(json.dumps(expected)) and len(listed) == 2
    assert listed[0]["timestamp"].endswith("Z") and listed[0]["files"] == [{"url": "https://x.test/a.png"}]


def test_list_messages_query_count_does_not_grow_with_page_size(alice, chat, django_assert_max_num_queries):
    for n in range(40):
        services.message_add(chat=chat, actor=alice.user, content=f"m{n}")
    alice.client.get(f"/chats/{chat.id}/messages")
    for per_page in (5, 40):
        # expected: the user lookup of the delegated token, SELECT page with COUNT(*) OVER () (its rows prove
        # the chat is the account's, so no chat lookup and no separate COUNT)
        with django_assert_max_num_queries(2):
            assert len(alice.client.get(f"/chats/{chat.id}/messages", {"perPage": per_page})
                       .json()["messages"]) == per_page


def test_get_update_merges_metadata_and_replaces_content(alice, chat):
    message = services.message_add(chat=chat, actor=alice.user, content="Draft", metadata={"a": 1, "b": 2})
    assert alice.client.get(f"/chats/{chat.id}/messages/{message.id}").json()["message"]["content"] == "Draft"
    response = alice.client.put(f"/chats/{chat.id}/messages/{message.id}",
                                {"content": "Final", "files": [{"url": "https://x.test/a.png"}], "metadata": {"b": 3}})
    assert response.status_code == 200, response.json()
    body = response.json()["message"]
    assert body["content"] == "Final" and body["metadata"] == {"a": 1, "b": 3}
    assert body["files"] == [{"url": "https://x.test/a.png"}]


def test_delete_message_recounts_the_chat(alice, chat):
    first = services.message_add(chat=chat, actor=alice.user, content="one")
    second = services.message_add(chat=chat, actor=alice.user, content="two")
    response = alice.client.delete(f"/chats/{chat.id}/messages/{second.id}")
    assert response.json() == {"ok": True, "message": {"id": second.id, "message": "Message deleted successfully"}}
    chat.refresh_from_db()
    assert chat.message_count == 1 and chat.last_message_at == first.timestamp
    assert alice.client.get(f"/chats/{chat.id}/messages/{second.id}").status_code == 404


def test_clear_all_messages_empties_the_chat(alice, chat):
    for n in range(3):
        services.message_add(chat=chat, actor=alice.user, content=f"m{n}")
    response = alice.client.delete(f"/chats/{chat.id}/messages")
    assert response.json() == {"ok": True, "messages": {"id": chat.id, "message": "All messages cleared successfully"}}
    chat.refresh_from_db()
    assert chat.message_count == 0 and chat.last_message_at is None and not chat.messages.exists()


def test_message_of_another_chat_is_404(alice, chat, assistant):
    other = ChatFactory(assistant=assistant)
    message = services.message_add(chat=other, actor=alice.user, content="elsewhere")
    response = alice.client.get(f"/chats/{chat.id}/messages/{message.id}")
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"


def test_another_account_gets_404_for_messages(alice, charlie, chat):
    message = services.message_add(chat=chat, actor=alice.user, content="secret")
    for response in (charlie.client.get(f"/chats/{chat.id}/messages"),
                     charlie.client.post(f"/chats/{chat.id}/messages", {"content": "x"}),
                     charlie.client.delete(f"/chats/{chat.id}/messages"),
                     charlie.client.get(f"/chats/{chat.id}/messages/{message.id}"),
                     charlie.client.put(f"/chats/{chat.id}/messages/{message.id}", {"content": "x"}),
                     charlie.client.delete(f"/chats/{chat.id}/messages/{message.id}")):
        assert response.status_code == 404 and response.json()["error_code"] == "not_found"
    assert Message.objects.get(id=message.id).content == "secret"


def test_messages_need_a_token(anonymous, chat):
    response = anonymous.get(f"/chats/{chat.id}/messages")
    assert response.status_code == 401 and response.json()["error_code"] == "authentication_required"


@pytest.mark.django_db(transaction=True)
def test_counters_stay_exact_under_concurrent_message_writes(alice, assistant):
    chat = ChatFactory(assistant=assistant)
    keep = [services.message_add(chat=chat, actor=alice.user, content=f"keep{n}") for n in range(5)]
    outcomes = run_together(
        *(lambda n=n: services.message_add(chat=chat, actor=alice.user, content=f"c{n}") for n in range(12)),
        *(lambda message=message: services.message_delete(message=message) for message in keep[:3]))
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    chat.refresh_from_db()
    assert chat.message_count == chat.messages.count() == 14
    assert chat.last_message_at == chat.messages.order_by("-timestamp").first().timestamp
