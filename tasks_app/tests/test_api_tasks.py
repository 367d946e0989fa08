import json
from datetime import datetime, timezone

import pytest

from accounts.services import assistant_create
from tasks_app.api.serializers import TaskSerializer
from tasks_app.models import Activity, Meeting, Task
from tasks_app.services import task_create

from .factories import ActivityFactory, MeetingFactory, TaskFactory


def create(caller, **body):
    response = caller.client.post("/tasks", {"title": "Book the offsite", **body})
    assert response.status_code == 201, response.json()
    return response.json()["task"]


# -- create ----------------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_create_returns_the_task_owned_by_the_caller_with_a_created_activity(alice):
    response = alice.client.post("/tasks", {"title": "New task", "description": "Task description",
                                            "type": "task", "status": "pending"})
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    task = body["task"]
    assert task["id"].startswith("task_")
    assert (task["title"], task["description"], task["status"], task["type"]) == (
        "New task", "Task description", "pending", "task")
    assert task["owner"]["email"] == "alice@acme.test"
    assert task["createdAt"].endswith("Z") and task["updatedAt"].endswith("Z")
    activity = Activity.objects.get(task_id=task["id"])
    assert (activity.type, activity.content, activity.actor_user) == ("status_change", "Task created", alice.user)


def test_create_accepts_followers_owner_parent_assistant_and_due_date(alice, bob):
    assistant = assistant_create(account=alice.account, name="Ava", email="ava@acme.test")
    parent = create(alice)
    task = create(alice, ownerId=bob.user.id, followerIds=[alice.user.id], parentId=parent["id"],
                  assistantId=assistant.id, dueAt="2026-12-01T09:00:00Z", summary="s", metadata={"k": "v"})
    assert task["owner"]["id"] == bob.user.id
    assert [f["id"] for f in task["followers"]] == [alice.user.id]
    assert (task["parentId"], task["assistantId"], task["dueAt"]) == (parent["id"], assistant.id,
                                                                      "2026-12-01T09:00:00Z")
    assert (task["summary"], task["metadata"]) == ("s", {"k": "v"})


def test_create_with_null_owner_leaves_the_task_unowned(alice):
    assert create(alice, ownerId=None)["owner"] is None


@pytest.mark.parametrize("body, field", [
    ({}, "title"),
    ({"title": "x", "status": "done"}, "status"),
    ({"title": "x", "type": "Not A Slug"}, "type"),
    ({"title": "x", "type": "a" * 65}, "type"),
    ({"title": "x", "followerIds": "user_1"}, "followerIds"),
    ({"title": "x", "metadata": [1]}, "metadata"),
])
def test_create_rejects_invalid_fields_with_validation_error(alice, body, field):
    response = alice.client.post("/tasks", body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert field in response.json()["details"]


@pytest.mark.parametrize("field, error_code", [
    ("ownerId", "user_not_found"), ("followerIds", "user_not_found"), ("parentId", "parent_task_not_found"),
    ("assistantId", "assistant_not_found"), ("templateId", "template_not_found"),
])
def test_create_refuses_references_outside_the_account_with_404(alice, charlie, field, error_code):
    foreign = {
        "ownerId": charlie.user.id, "followerIds": [charlie.user.id],
        "parentId": task_create(account=charlie.account, title="theirs").id,
        "assistantId": assistant_create(account=charlie.account, name="C", email="c@globex.test").id,
        "templateId": "tmpl_missing",
    }[field]
    response = alice.client.post("/tasks", {"title": "x", field: foreign})
    assert response.status_code == 404
    assert response.json()["error_code"] == error_code
    assert not Task.objects.filter(account=alice.account).exists()


# -- list and filters ------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_list_returns_account_tasks_newest_first_with_pagination(alice, bob, charlie):
    first = create(alice, title="first")
    second = create(bob, title="second")
    create(charlie, title="not ours")
    body = alice.client.get("/tasks").json()
    assert [t["id"] for t in body["tasks"]] == [second["id"], first["id"]]
    assert (body["page"], body["perPage"], body["total"]) == (1, 20, 2)
    assert set(body["tasks"][0]) >= {"id", "title", "description", "status", "type", "createdAt", "updatedAt"}


def test_list_gives_each_tasks_followers_in_the_order_they_were_added(alice, bob):
    older, carol = bob.user, alice.teammate("carol@acme.test")
    assert carol.user.id > older.id  # IDs sort by creation: by ID, bob would come first
    task = create(alice, followerIds=[carol.user.id])
    assert alice.client.patch(f"/tasks/{task['id']}", {"followerIds": [carol.user.id, bob.user.id]}).status_code == 200
    listed = alice.client.get("/tasks").json()["tasks"]
    assert [user["email"] for user in listed[0]["followers"]] == ["carol@acme.test", "bob@acme.test"]


def test_list_filters_by_status_and_type(alice):
    create(alice, title="a", status="in_progress", type="scheduling")
    create(alice, title="b", status="pending", type="scheduling")
    create(alice, title="c", status="in_progress", type="travel")
    titles = lambda params: sorted(t["title"] for t in alice.client.get("/tasks", params).json()["tasks"])  # noqa: E731
    assert titles({"status": "in_progress"}) == ["a", "c"]
    assert titles({"type": "scheduling"}) == ["a", "b"]
    assert titles({"status": "in_progress", "type": "travel"}) == ["c"]


def test_mine_lists_tasks_the_caller_owns_or_follows_once_each(alice, bob):
    owned = create(alice, title="owned", followerIds=[alice.user.id, bob.user.id])
    followed = create(bob, title="followed", followerIds=[alice.user.id])
    create(bob, title="bob only")
    mine = alice.client.get("/tasks", {"mine": "true"}).json()
    assert sorted(t["id"] for t in mine["tasks"]) == sorted([owned["id"], followed["id"]])
    assert mine["total"] == 2
    assert alice.client.get("/tasks", {"mine": "false"}).json()["total"] == 3
    assert [t["title"] for t in bob.client.get("/tasks", {"mine": "true"}).json()["tasks"]] == [
        "bob only", "followed", "owned"]


@pytest.mark.parametrize("params", [{"status": "done"}, {"mine": "yes"}, {"type": "Bad Type"}])
def test_list_rejects_unknown_filter_values_with_400(alice, params):
    response = alice.client.get("/tasks", params)
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert set(response.json()["details"]) == set(params)


def test_list_runs_a_constant_number_of_queries(alice, bob, django_assert_max_num_queries):
    for index in range(100):
        task = TaskFactory(account=alice.account, owner=alice.user if index % 2 else bob.user,
                           followers=[alice.user, bob.user])
        ActivityFactory(task=task)
    alice.user  # provisioned before counting
    # certificate (+ its last_used_at update, at most once a minute), user, count, page of tasks + owners,
    # followers prefetch (the rate limit counts in Redis)
    for per_page in (10, 100):
        with django_assert_max_num_queries(6):
            body = alice.client.get("/tasks", {"perPage": per_page, "mine": "true"}).json()
        assert len(body["tasks"]) == per_page
        assert all(len(t["followers"]) == 2 for t in body["tasks"])


def test_list_items_are_exactly_what_the_task_serializer_gives(alice, bob):
    assistant = assistant_create(account=alice.account, name="Ava", email="ava@acme.test")
    parent = TaskFactory(account=alice.account, owner=None, status=Task.Status.COMPLETED)
    TaskFactory(account=alice.account, owner=bob.user, followers=[alice.user, bob.user], parent=parent,
                assistant=assistant, due_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc), summary="s",
                metadata={"k": ["v", 1]}, type="scheduling")
    listed = alice.client.get("/tasks").json()["tasks"]
    expected = json.loads(json.dumps([TaskSerializer(task).data
                                      for task in Task.objects.filter(account=alice.account)]))

    def normalised(items):
        return sorted(({**item, "followers": sorted(item["followers"], key=lambda f: f["id"])} for item in items),
                      key=lambda item: item["id"])

    assert len(listed) == 2 and normalised(listed) == normalised(expected)
    assert {item["owner"] is None for item in listed} == {True, False}
    assert {item["dueAt"] for item in listed} == {None, "2026-12-01T09:30:00Z"}


# -- detail ------------------------------------------------------------------------------------------------


def test_detail_embeds_subtasks_activities_oldest_first_and_meetings(alice):
    parent = create(alice, title="parent")
    sub = create(alice, title="child", parentId=parent["id"])
    alice.client.put(f"/tasks/{parent['id']}", {"status": "in_progress"})
    alice.client.post(f"/tasks/{parent['id']}/activities", {"content": "looks good"})
    alice.client.post(f"/tasks/{parent['id']}/meetings", {"title": "Kickoff", "start": "2026-12-01T10:00:00Z",
                                                         "end": "2026-12-01T10:30:00Z", "timezone": "Europe/Paris",
                                                         "attendees": ["bob@acme.test"],
                                                         "link": "https://meet.example.com/x"})
    task = alice.client.get(f"/tasks/{parent['id']}").json()["task"]
    assert [s["id"] for s in task["subtasks"]] == [sub["id"]]
    assert [a["type"] for a in task["activities"]] == ["status_change", "status_change", "comment", "meeting"]
    assert task["activities"][0]["content"] == "Task created"
    assert task["activities"][1]["content"] == "Status changed from pending to in_progress"
    assert task["activities"][2]["actor"] == {"type": "user", "id": alice.user.id, "name": "Alice Archer",
                                              "email": "alice@acme.test"}
    meeting = task["meetings"][0]
    # booked in TSKR only: alice has no calendar; the pre-booking body (`link`, emails) still works
    assert (meeting["title"], meeting["start"], meeting["end"], meeting["timezone"], meeting["attendees"],
            meeting["link"], meeting["conferenceLink"], meeting["status"], meeting["calendarId"],
            meeting["taskId"]) == ("Kickoff", "2026-12-01T10:00:00Z", "2026-12-01T10:30:00Z", "Europe/Paris",
                                   [{"email": "bob@acme.test", "name": ""}], "https://meet.example.com/x",
                                   "https://meet.example.com/x", "booked", None, parent["id"])


def test_detail_runs_a_constant_number_of_queries(alice, django_assert_max_num_queries):
    counts = {}
    alice.client.get("/tasks")  # the certificate's last_used_at is stamped now, not inside the counts
    for size in (2, 30):
        task = TaskFactory(account=alice.account, owner=alice.user, followers=[alice.user])
        for _ in range(size):
            TaskFactory(account=alice.account, parent=task, owner=alice.user, followers=[alice.user])
            ActivityFactory(task=task, actor_user=alice.user)
            MeetingFactory(task=task)
        # certificate (+ its last_used_at update, at most once a minute), user, task + owner, its followers,
        # subtasks + owners, their followers, activities + actors, meetings
        with django_assert_max_num_queries(9) as captured:
            body = alice.client.get(f"/tasks/{task.id}").json()["task"]
        counts[size] = len(captured)
        assert len(body["subtasks"]) == len(body["activities"]) == len(body["meetings"]) == size
    assert counts[2] == counts[30]


# -- update, activities and transitions --------------------------------------------------------------------


def test_update_records_status_change_and_edits_with_the_actor(alice, bob):
    task = create(alice, title="Old", description="old")
    response = bob.client.put(f"/tasks/{task['id']}", {"title": "New", "description": "new", "status": "in_progress",
                                                        "summary": "Half done"})
    assert response.status_code == 200
    updated = response.json()["task"]
    assert (updated["title"], updated["status"], updated["summary"]) == ("New", "in_progress", "Half done")
    activities = list(Activity.objects.filter(task_id=task["id"]).exclude(content="Task created")
                      .order_by("created_at"))
    assert [(a.type, a.content, a.actor_user_id) for a in activities] == [
        ("edit", 'Title changed from "Old" to "New"', bob.user.id),
        ("edit", "Description updated", bob.user.id),
        ("status_change", "Status changed from pending to in_progress", bob.user.id),
    ]


def test_update_without_changes_writes_no_activity(alice):
    task = create(alice, title="Same")
    assert alice.client.put(f"/tasks/{task['id']}", {"title": "Same", "status": "pending"}).status_code == 200
    assert Activity.objects.filter(task_id=task["id"]).count() == 1


def test_update_of_owner_and_followers_writes_assignment_activities(alice, bob):
    task = create(alice)
    response = alice.client.put(f"/tasks/{task['id']}", {"ownerId": bob.user.id, "followerIds": [alice.user.id]})
    assert response.json()["task"]["owner"]["id"] == bob.user.id
    assignments = Activity.objects.filter(task_id=task["id"], type="assignment").order_by("created_at")
    assert [a.content for a in assignments] == ["Owner set to Bob Baker", "Followers changed"]
    assert assignments[1].metadata == {"added": [alice.user.id], "removed": []}


def test_completed_task_cannot_go_back_to_pending_without_reopening(alice):
    task = create(alice)
    assert alice.client.put(f"/tasks/{task['id']}", {"status": "completed"}).status_code == 200
    response = alice.client.put(f"/tasks/{task['id']}", {"status": "pending", "title": "changed"})
    assert response.status_code == 409
    body = response.json()
    assert body["error_code"] == "invalid_transition"
    assert body["details"] == {"status": ["in_progress"]}
    assert "in_progress" in body["error"]
    assert Task.objects.get(id=task["id"]).title == "Book the offsite"  # nothing of the request applied
    assert alice.client.put(f"/tasks/{task['id']}", {"status": "in_progress"}).status_code == 200
    assert alice.client.put(f"/tasks/{task['id']}", {"status": "pending"}).json()["task"]["status"] == "pending"


def test_task_exposes_its_allowed_transitions(alice):
    task = create(alice, status="failed")
    assert task["allowedTransitions"] == ["pending", "in_progress"]


def test_update_rejects_unknown_status_with_400(alice):
    task = create(alice)
    response = alice.client.put(f"/tasks/{task['id']}", {"status": "archived"})
    assert response.status_code == 400 and response.json()["error_code"] == "validation_error"


def test_comment_is_added_as_an_activity(alice):
    task = create(alice)
    response = alice.client.post(f"/tasks/{task['id']}/activities",
                                 {"content": "Call them first", "files": [{"url": "https://x.test/a.pdf"}]})
    assert response.status_code == 201
    activity = response.json()["activity"]
    assert (activity["type"], activity["content"], activity["actor"]["id"]) == ("comment", "Call them first",
                                                                                alice.user.id)
    assert activity["files"] == [{"url": "https://x.test/a.pdf"}]


def test_meeting_end_must_be_after_start(alice):
    task = create(alice)
    response = alice.client.post(f"/tasks/{task['id']}/meetings", {"title": "x", "start": "2026-12-01T10:00:00Z",
                                                                   "end": "2026-12-01T10:00:00Z"})
    assert response.status_code == 400
    assert response.json()["details"] == {"end": ["Must be after start"]}
    assert not Meeting.objects.exists()


# -- delete ------------------------------------------------------------------------------------------------


def test_delete_removes_the_task_with_subtasks_activities_and_meetings(alice):
    parent = create(alice)
    child = create(alice, parentId=parent["id"])
    grandchild = create(alice, parentId=child["id"])
    MeetingFactory(task=Task.objects.get(id=child["id"]))
    other = create(alice)
    response = alice.client.delete(f"/tasks/{parent['id']}")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "task": {"id": parent["id"], "message": "Task deleted successfully"}}
    assert list(Task.objects.values_list("id", flat=True)) == [other["id"]]
    gone = [parent["id"], child["id"], grandchild["id"]]
    assert not Activity.objects.filter(task_id__in=gone).exists()
    assert not Meeting.objects.exists()


# -- access ------------------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_other_accounts_get_404_for_every_task_endpoint(alice, charlie):
    task = create(alice)
    path = f"/tasks/{task['id']}"
    calls = [("get", path, None), ("put", path, {"title": "x"}), ("delete", path, None),
             ("post", f"{path}/process", {"message": "hi"}), ("post", f"{path}/activities", {"content": "x"}),
             ("post", f"{path}/meetings", {"title": "x", "start": "2026-12-01T10:00:00Z",
                                           "end": "2026-12-01T11:00:00Z"})]
    for method, url, data in calls:
        response = getattr(charlie.client, method)(url, data)
        assert response.status_code == 404, (method, url)
        assert response.json()["error_code"] == "not_found"
    assert charlie.client.get("/tasks").json()["total"] == 0
    assert Task.objects.get(id=task["id"]).title == "Book the offsite"
    assert Activity.objects.filter(task_id=task["id"]).count() == 1


def test_unauthenticated_calls_get_401(anonymous):
    for method, path in [("get", "/tasks"), ("post", "/tasks"), ("get", "/tasks/task_x"), ("delete", "/tasks/task_x")]:
        response = getattr(anonymous, method)(path)
        assert response.status_code == 401
        assert response.json()["error_code"] == "authentication_required"


def test_management_tokens_need_user_context(manager):
    response = manager.client.get("/tasks")
    assert response.status_code == 403
    assert response.json()["error_code"] == "user_context_required"


def test_teammates_share_the_account_tasks(alice, bob):
    task = create(alice)
    assert bob.client.get(f"/tasks/{task['id']}").status_code == 200
    assert bob.client.put(f"/tasks/{task['id']}", {"status": "on_hold"}).json()["task"]["status"] == "on_hold"
