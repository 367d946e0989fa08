from datetime import datetime

import pytest

from directory.models import Memory
from directory.tests.factories import MemoryFactory


@pytest.mark.smoke
def test_create_get_update_and_delete_a_memory(alice):
    created = alice.client.post("/memories", {"title": "Meeting Notes", "content": "Discussed Q1 objectives",
                                              "tags": ["meeting", "Q1"], "metadata": {"source": "chat"}})
    assert created.status_code == 201, created.json()
    memory = created.json()["memory"]
    assert memory["id"].startswith("mem_") and memory["type"] == "note" and memory["tags"] == ["meeting", "Q1"]
    assert memory["createdAt"].endswith("Z")

    fetched = alice.client.get(f"/memories/{memory['id']}").json()["memory"]
    assert fetched["metadata"] == {"source": "chat"} and fetched["content"] == "Discussed Q1 objectives"

    updated = alice.client.put(f"/memories/{memory['id']}", {"content": "Q1 and Q2", "type": "fact"})
    assert updated.status_code == 200
    assert updated.json()["memory"]["content"] == "Q1 and Q2" and updated.json()["memory"]["type"] == "fact"
    assert updated.json()["memory"]["title"] == "Meeting Notes"

    removed = alice.client.delete(f"/memories/{memory['id']}")
    assert removed.json() == {"ok": True, "memory": {"id": memory["id"], "message": "Memory deleted successfully"}}
    assert not Memory.objects.filter(id=memory["id"]).exists()


def test_a_new_memory_is_not_updated_before_it_was_created(alice):
    """The inherited updated_at used to be stamped first, a few microseconds before created_at."""
    for i in range(5):
        memory = alice.client.post("/memories", {"title": f"t{i}", "content": "c"}).json()["memory"]
        assert datetime.fromisoformat(memory["createdAt"]) <= datetime.fromisoformat(memory["updatedAt"])
        stored = Memory.objects.get(id=memory["id"])
        assert stored.created_at <= stored.updated_at


@pytest.mark.parametrize("method", ["post", "put"])
def test_an_unknown_memory_type_is_a_400_naming_the_allowed_values(alice, method):
    path = "/memories" if method == "post" else f"/memories/{MemoryFactory(user=alice.user).id}"
    response = getattr(alice.client, method)(path, {"title": "t", "content": "c", "type": "rumour"})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert "note, preference, fact, context" in body["details"]["type"][0]


def test_create_requires_title_and_content(alice):
    body = alice.client.post("/memories", {"type": "note"}).json()
    assert body["error_code"] == "validation_error" and set(body["details"]) == {"title", "content"}


def test_list_filters_by_type_tags_and_search(alice):
    MemoryFactory(user=alice.user, title="Preferred Communication Time", content="9 AM - 5 PM EST",
                  type="preference", tags=["communication", "scheduling"])
    MemoryFactory(user=alice.user, title="Lunch", content="Likes SUSHI on Fridays", type="fact", tags=["food"])
    MemoryFactory(user=alice.user, title="Standup", content="daily at 9", tags=["scheduling"])

    def titles(**params):
        response = alice.client.get("/memories", params)
        assert response.status_code == 200, response.json()
        return sorted(m["title"] for m in response.json()["memories"])

    assert titles(type="preference") == ["Preferred Communication Time"]
    assert titles(tags="scheduling") == ["Preferred Communication Time", "Standup"]
    assert titles(tags="scheduling, communication") == ["Preferred Communication Time"]
    assert titles(tags="scheduling,food") == []
    assert titles(search="sushi") == ["Lunch"]
    assert titles(search="COMMUNICATION") == ["Preferred Communication Time"]
    assert titles(search="standup", tags="scheduling", type="note") == ["Standup"]


def test_list_type_filter_rejects_unknown_types(alice):
    body = alice.client.get("/memories", {"type": "gossip"}).json()
    assert body["error_code"] == "validation_error" and "note, preference, fact, context" in body["error"]


def test_list_is_paginated_newest_first(alice):
    ids = [MemoryFactory(user=alice.user).id for _ in range(3)]
    body = alice.client.get("/memories", {"perPage": 2, "page": 1}).json()
    assert [m["id"] for m in body["memories"]] == ids[::-1][:2]
    assert (body["page"], body["perPage"], body["total"]) == (1, 2, 3)


def test_memories_are_private_to_their_user(alice, bob, charlie):
    memory = MemoryFactory(user=alice.user, title="secret")
    assert bob.client.get("/memories").json()["memories"] == []
    for caller in (bob, charlie):
        for method in ("get", "put", "delete"):
            response = getattr(caller.client, method)(f"/memories/{memory.id}")
            assert response.status_code == 404 and response.json()["error_code"] == "not_found"
    assert Memory.objects.get(id=memory.id).title == "secret"


def test_memories_need_a_delegated_token(manager, anonymous):
    response = manager.client.get("/memories")
    assert response.status_code == 403 and response.json()["error_code"] == "user_context_required"
    assert anonymous.get("/memories").status_code == 401


def test_memory_list_query_count_does_not_grow_with_page_size(alice, django_assert_max_num_queries):
    for _ in range(30):
        MemoryFactory(user=alice.user, tags=["x"])
    alice.client.get("/memories")  # warm the certificate cache
    for per_page in (5, 30):
        # the caller's user, COUNT(*), SELECT page
        with django_assert_max_num_queries(3):
            body = alice.client.get("/memories", {"perPage": per_page, "tags": "x", "search": "memory"}).json()
            assert len(body["memories"]) == per_page


@pytest.mark.smoke
def test_memory_pages_list_newest_first_with_ties_broken_by_id_and_filters_applied(alice, bob):
    memories = [MemoryFactory(user=alice.user, tags=["x"] if n % 3 else []) for n in range(12)]
    MemoryFactory(user=bob.user, tags=["x"])
    same_moment = memories[0].created_at
    Memory.objects.filter(id__in=[m.id for m in memories[4:8]]).update(created_at=same_moment)
    expected = list(Memory.objects.filter(user=alice.user).order_by("-created_at", "-id").values_list("id", flat=True))
    pages = [alice.client.get("/memories", {"page": page, "perPage": 5}).json() for page in (1, 2, 3, 4)]
    assert [m["id"] for body in pages for m in body["memories"]] == expected
    assert [len(body["memories"]) for body in pages] == [5, 5, 2, 0] and pages[1]["total"] == 12
    tagged = [memory_id for memory_id in expected if memory_id in {m.id for m in memories if m.tags}]
    second = alice.client.get("/memories", {"page": 2, "perPage": 3, "tags": "x"}).json()
    assert [m["id"] for m in second["memories"]] == tagged[3:6] and second["total"] == 8
