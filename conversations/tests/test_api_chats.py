import json

import pytest

from conversations import services
from conversations.api.serializers import ChatSerializer
from conversations.models import Chat

from .factories import AssistantFactory, ChatFactory


@pytest.mark.smoke
def test_create_chat_returns_201_with_given_title_and_metadata(alice, assistant):
    response = alice.client.post("/chats", {"assistantId": assistant.id, "title": "Dashboard Chat",
                                            "metadata": {"source": "dashboard-chat"}})
    assert response.status_code == 201, response.json()
    chat = response.json()["chat"]
    assert chat["title"] == "Dashboard Chat" and chat["status"] == "active" and chat["messageCount"] == 0
    assert chat["assistant"] == {"id": assistant.id, "name": "Tess", "email": "tess@acme.test"}
    assert chat["metadata"] == {"source": "dashboard-chat"} and chat["lastMessageAt"] is None
    assert Chat.objects.get(id=chat["id"]).created_by == alice.user


def test_create_chat_generates_a_title_then_takes_it_from_the_first_user_message(alice, assistant):
    chat = alice.client.post("/chats", {"assistantId": assistant.id}).json()["chat"]
    assert chat["title"].startswith("Chat with Tess on ")
    alice.client.post(f"/chats/{chat['id']}/messages", {"content": "Plan the offsite\nDetails follow"})
    assert alice.client.get(f"/chats/{chat['id']}").json()["chat"]["title"] == "Plan the offsite"
    alice.client.post(f"/chats/{chat['id']}/messages", {"content": "Second message"})
    assert alice.client.get(f"/chats/{chat['id']}").json()["chat"]["title"] == "Plan the offsite"


def test_an_inactive_assistant_takes_no_new_chats(alice, assistant):
    assistant.status = assistant.Status.INACTIVE
    assistant.save()
    response = alice.client.post("/chats", {"assistantId": assistant.id})
    assert response.status_code == 400 and response.json() == {
        "error": "The assistant is inactive and takes no new chats", "error_code": "assistant_inactive"}
    assert not Chat.objects.exists()


def test_create_chat_requires_an_assistant_of_the_account(alice, charlie):
    missing = alice.client.post("/chats", {"title": "x"})
    assert missing.status_code == 400 and missing.json()["error_code"] == "validation_error"
    assert "assistantId" in missing.json()["details"]
    foreign = AssistantFactory(account=charlie.account)
    response = alice.client.post("/chats", {"assistantId": foreign.id})
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"


def test_chats_are_account_wide_and_never_embed_messages(alice, bob, chat):
    services.message_add(chat=chat, actor=alice.user, content="Hi")
    body = bob.client.get(f"/chats/{chat.id}").json()["chat"]
    assert body["id"] == chat.id and body["messageCount"] == 1 and "messages" not in body
    assert [c["id"] for c in bob.client.get("/chats").json()["chats"]] == [chat.id]


def test_list_chats_defaults_to_active_and_filters_by_status(alice, assistant):
    active = ChatFactory(assistant=assistant)
    archived = ChatFactory(assistant=assistant, status=Chat.Status.ARCHIVED)
    assert [c["id"] for c in alice.client.get("/chats").json()["chats"]] == [active.id]
    assert [c["id"] for c in alice.client.get("/chats", {"status": "archived"}).json()["chats"]] == [archived.id]
    bad = alice.client.get("/chats", {"status": "deleted"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "validation_error"


def test_list_chats_filters_by_assistant_and_any_metadata_key(alice, assistant):
    other = AssistantFactory(account=alice.account)
    dashboard = ChatFactory(assistant=assistant, metadata={"source": "dashboard-chat", "priority": 2})
    ChatFactory(assistant=assistant, metadata={"source": "email"})
    elsewhere = ChatFactory(assistant=other, metadata={"source": "dashboard-chat"})
    ids = lambda params: {c["id"] for c in alice.client.get("/chats", params).json()["chats"]}  # noqa: E731
    assert ids({"assistantId": other.id}) == {elsewhere.id}
    assert ids({"metadata.source": "dashboard-chat"}) == {dashboard.id, elsewhere.id}
    assert ids({"metadata.source": "dashboard-chat", "assistantId": assistant.id}) == {dashboard.id}
    assert ids({"metadata.priority": "2"}) == {dashboard.id}
    assert ids({"metadata.missing": "x"}) == set()
    bad = alice.client.get("/chats", {"metadata.a__b": "x"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "invalid_filter"


def test_list_chats_orders_by_latest_activity_and_paginates(alice, assistant):
    first, second, third = (ChatFactory(assistant=assistant) for _ in range(3))
    services.message_add(chat=first, actor=alice.user, content="bump")
    body = alice.client.get("/chats", {"perPage": 2}).json()
    assert [c["id"] for c in body["chats"]] == [first.id, third.id]
    assert (body["page"], body["perPage"], body["total"]) == (1, 2, 3)
    assert [c["id"] for c in alice.client.get("/chats", {"perPage": 2, "page": 2}).json()["chats"]] == [second.id]


def test_list_chats_query_count_does_not_grow_with_page_size(alice, assistant, django_assert_max_num_queries):
    for n in range(100):
        ChatFactory(assistant=AssistantFactory(account=alice.account) if n % 10 == 0 else assistant)
    alice.client.get("/chats")  # warm the certificate cache and provision alice
    for per_page in (5, 100):
        # expected: the user lookup of the delegated token, COUNT(*), SELECT page JOIN assistant
        with django_assert_max_num_queries(3):
            assert len(alice.client.get("/chats", {"perPage": per_page}).json()["chats"]) == per_page


def test_list_chat_items_are_exactly_what_the_chat_serializer_gives(alice, assistant):
    with_messages = ChatFactory(assistant=assistant, metadata={"source": "email", "nested": {"a": [1, None]}})
    services.message_add(chat=with_messages, actor=alice.user, content="Hi")
    ChatFactory(account=alice.account, assistant=None, title="Orphan")
    listed = alice.client.get("/chats").json()["chats"]
    expected = [ChatSerializer(chat).data for chat in Chat.objects.filter(id__in=[c["id"] for c in listed])]
    assert sorted(listed, key=lambda c: c["id"]) == sorted(json.loads(json.dumps(expected)), key=lambda c: c["id"])
    assert {c["assistant"] is None for c in listed} == {True, False}
    assert all(c["createdAt"].endswith("Z") for c in listed)


def test_update_chat_archives_renames_and_merges_metadata(alice, assistant):
    chat = ChatFactory(assistant=assistant, metadata={"source": "email", "keep": 1})
    response = alice.client.put(f"/chats/{chat.id}", {"status": "archived", "title": "Renamed",
                                                      "metadata": {"source": "dashboard"}})
    assert response.status_code == 200, response.json()
    body = response.json()["chat"]
    assert body["status"] == "archived" and body["title"] == "Renamed"
    assert body["metadata"] == {"source": "dashboard", "keep": 1}


def test_delete_chat_removes_it_and_its_messages(alice, chat):
    services.message_add(chat=chat, actor=alice.user, content="Hi")
    response = alice.client.delete(f"/chats/{chat.id}")
    assert response.json() == {"ok": True, "chat": {"id": chat.id, "message": "Chat deleted successfully"}}
    assert alice.client.get(f"/chats/{chat.id}").status_code == 404


def test_deleting_the_assistant_keeps_its_chats_with_a_null_assistant(alice, manager, chat):
    assert manager.client.delete(f"/assistants/{chat.assistant_id}").status_code == 200
    body = alice.client.get(f"/chats/{chat.id}").json()["chat"]
    assert body["id"] == chat.id and body["assistant"] is None


def test_another_account_gets_404_for_chats(charlie, chat):
    for response in (charlie.client.get(f"/chats/{chat.id}"), charlie.client.put(f"/chats/{chat.id}", {"title": "x"}),
                     charlie.client.delete(f"/chats/{chat.id}"), charlie.client.post(f"/chats/{chat.id}/process")):
        assert response.status_code == 404 and response.json()["error_code"] == "not_found"
    assert charlie.client.get("/chats").json()["chats"] == []


def test_chats_need_a_token_and_a_user(anonymous, manager, chat):
    response = anonymous.get("/chats")
    assert response.status_code == 401 and response.json()["error_code"] == "authentication_required"
    response = manager.client.get("/chats")
    assert response.status_code == 403 and response.json()["error_code"] == "user_context_required"
