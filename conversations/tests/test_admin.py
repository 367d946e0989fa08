"""The staff screens at /staff/ list, search and filter chats and messages; messages are read-only."""
from conversations import services

from .test_process import post


def test_chats_are_listed_searched_and_filtered(admin_client, alice, chat):
    page = admin_client.get("/staff/conversations/chat/", {"q": chat.id, "status__exact": "active"})
    assert page.status_code == 200 and chat.title in page.content.decode()
    other = admin_client.get("/staff/conversations/chat/", {"q": "no such chat"}).content.decode()
    assert chat.title not in other
    detail = admin_client.get(f"/staff/conversations/chat/{chat.id}/change/")
    assert detail.status_code == 200 and chat.id in detail.content.decode()


def test_messages_are_listed_and_shown_but_never_changed_added_or_deleted(admin_client, alice, chat):
    inbound = post(alice, chat, "Please find the quarterly numbers")
    services.chat_process(chat=chat)
    page = admin_client.get("/staff/conversations/message/", {"q": "quarterly", "role__exact": "user"})
    assert page.status_code == 200 and inbound["id"] in page.content.decode()
    detail = admin_client.get(f"/staff/conversations/message/{inbound['id']}/change/")
    assert detail.status_code == 200 and "quarterly numbers" in detail.content.decode()
    changed = admin_client.post(f"/staff/conversations/message/{inbound['id']}/change/", {"content": "edited"})
    assert changed.status_code == 403
    assert admin_client.get("/staff/conversations/message/add/").status_code == 403
    deleted = admin_client.post(f"/staff/conversations/message/{inbound['id']}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert alice.client.get(f"/chats/{chat.id}/messages/{inbound['id']}").json()["message"]["content"] == \
        "Please find the quarterly numbers"
