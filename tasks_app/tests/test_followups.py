"""Follow-ups: a followups request checks at its time whether the person wrote; if not, the engine's short
follow-up goes out (through supervision) with `followup.due`, repeated per the owner's preferences inside
their working hours, and stopped, the task completed, once the person writes."""
from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Event
from conversations.models import Message
from conversations.tests.factories import ChatFactory
from directory.models import UserIdentifier
from directory.services import preferences_set
from tasks_app import reminders, schedule
from tasks_app.models import Meeting, ScheduledAction, Task
from tasks_app.tests.factories import TaskFactory

UTC = dt_timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
RAJ = "raj@partner.test"


def _prefs(caller, skill: str, values: dict) -> None:
    identifier = UserIdentifier.objects.get(user=caller.user, type="email")
    preferences_set(identifier=identifier, skill=skill, values=values)


def _events(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]


def _actions() -> list[ScheduledAction]:
    return list(ScheduledAction.objects.filter(kind="followup").order_by("due_at", "id"))


def _post(caller, chat, content: str, **metadata) -> dict:
    response = caller.client.post(f"/chats/{chat.id}/messages", {"content": content, "platform": "email",
                                                                 "metadata": metadata})
    assert response.status_code == 201, response.json()
    return response.json()["message"]


@pytest.fixture
def chat(assistant):
    return ChatFactory(account=assistant.account, assistant=assistant)


@pytest.fixture
def unsupervised(alice):
    _prefs(alice, "scheduling", {"defaults": {"supervision": "unsupervised"}})


@pytest.fixture
def followup_task(alice, chat):
    """Alice asked Tess, copying Raj, to follow up with him if he has not replied by Friday (she is in New York)."""
    alice.user.timezone = "America/New_York"
    alice.user.save(update_fields=["timezone"])
    _post(alice, chat, "Raj, could you send the signed contract? Tess: if Raj hasn't replied by Friday, follow up "
                       "with him", **{"from": "alice@acme.test", "to": [RAJ, "tess@acme.test"],
                                      "subject": "Contract"})
    assert alice.client.post(f"/chats/{chat.id}/process", {}).status_code == 200
    return Task.objects.get(type="followups")


def test_a_followup_request_checks_at_nine_on_the_named_day_with_the_person_of_the_chat(followup_task):
    due = followup_task.due_at.astimezone(NEW_YORK)
    assert due.strftime("%A %H:%M") == "Friday 09:00"
    assert followup_task.metadata["followupWith"] == RAJ
    [action] = _actions()
    assert action.due_at == followup_task.due_at and action.payload["person"] == RAJ and action.payload["attempt"] == 1


def test_no_reply_sends_the_engines_followup_to_the_person_and_fires_followup_due(alice, chat, followup_task,
                                                                                 unsupervised):
    [action] = _actions()
    assert schedule.actions_dispatch_due(now=action.due_at) == {"fired": 1}
    sent = Message.objects.get(chat=chat, role="assistant", metadata__taskId=followup_task.id)
    assert sent.metadata["to"] == [RAJ] and sent.metadata["subject"] == "Re: Contract"
    assert "following up" in sent.content.lower()
    [due] = _events("followup.due")
    assert due == {"taskId": followup_task.id, "userId": alice.user.id, "person": RAJ, "attempt": 1,
                   "chatId": chat.id, "messageId": sent.id, "approvalId": None}
    [outbound] = _events("message.outbound")
    assert outbound["messageId"] == sent.id and outbound["to"] == [RAJ]


def test_followups_repeat_every_interval_up_to_the_count_inside_working_hours(alice, followup_task, unsupervised):
    _prefs(alice, "followups", {"count": 3, "interval": 60 * 24})  # a day apart
    reminders.task_followup_plan(task=followup_task)
    first = _actions()[0]
    schedule.actions_dispatch_due(now=first.due_at)
    second = ScheduledAction.objects.get(kind="followup", payload__attempt=2)
    # a day after Friday 09:00 is Saturday, a day off: Monday 09:00 in New York
    assert second.due_at.astimezone(NEW_YORK).strftime("%A %H:%M") == "Monday 09:00"
    schedule.actions_dispatch_due(now=second.due_at)
    third = ScheduledAction.objects.get(kind="followup", payload__attempt=3)
    schedule.actions_dispatch_due(now=third.due_at)
    assert [event["attempt"] for event in _events("followup.due")] == [1, 2, 3]
    assert not ScheduledAction.objects.filter(kind="followup", payload__attempt=4).exists()  # count reached


def test_editing_the_task_after_the_first_followup_keeps_the_next_one(alice, followup_task, unsupervised):
    [first] = _actions()
    schedule.actions_dispatch_due(now=first.due_at)
    response = alice.client.put(f"/tasks/{followup_task.id}", {"title": "Follow up: contract (Raj)",
                                                                 "dueAt": "2026-12-20T14:00:00Z"})
    assert response.status_code == 200
    second = ScheduledAction.objects.get(payload__attempt=2)
    assert second.status == "scheduled"
    assert schedule.actions_dispatch_due(now=second.due_at) == {"fired": 1}
    assert [event["attempt"] for event in _events("followup.due")] == [1, 2]


def test_moving_the_due_time_before_the_first_check_moves_it(alice, followup_task):
    assert alice.client.put(f"/tasks/{followup_task.id}", {"dueAt": "2026-12-21T15:00:00Z"}).status_code == 200
    assert [(action.status, action.due_at) for action in _actions()] == [
        ("scheduled", datetime(2026, 12, 21, 15, tzinfo=UTC))]


def test_the_person_writing_stops_the_followups_at_once_and_completes_the_task(alice, chat, followup_task,
                                                                                unsupervised):
    _post(alice, chat, "Here it is, signed.", **{"from": f"Raj Patel <{RAJ}>", "to": ["alice@acme.test"]})
    followup_task.refresh_from_db()
    assert followup_task.status == "completed"
    [action] = _actions()
    assert action.status == "cancelled"
    assert schedule.actions_dispatch_due(now=action.due_at) == {}
    assert _events("followup.due") == [] and _events("message.outbound") == []
    assert not Message.objects.filter(chat=chat, role="assistant", metadata__taskId=followup_task.id).exists()


def test_a_reply_the_api_did_not_see_is_found_when_the_followup_falls_due(alice, chat, followup_task, unsupervised):
    Message.objects.create(account=alice.account, chat=chat, role="user", platform="email", content="Signed.",
                           metadata={"from": RAJ})  # written behind the API: no hook ran
    [action] = _actions()
    assert schedule.actions_dispatch_due(now=action.due_at) == {"cancelled": 1}
    followup_task.refresh_from_db()
    assert followup_task.status == "completed" and _events("followup.due") == []


def test_someone_else_writing_does_not_stop_them(alice, chat, followup_task, unsupervised):
    _post(alice, chat, "Any news?", **{"from": "alice@acme.test", "to": [RAJ]})
    [action] = _actions()
    assert schedule.actions_dispatch_due(now=action.due_at) == {"fired": 1}


def test_followups_turned_off_plan_nothing_and_cancel_what_was_planned(alice, followup_task):
    _prefs(alice, "followups", {"enabled": False})
    [action] = _actions()
    assert schedule.actions_dispatch_due(now=action.due_at) == {"cancelled": 1}
    assert reminders.followup_plan(task=followup_task, person=RAJ, due_at=action.due_at) is None
    assert _events("followup.due") == []


def test_a_count_of_zero_plans_no_followup(alice, followup_task):
    _prefs(alice, "followups", {"count": 0})
    assert reminders.task_followup_plan(task=followup_task) is None
    assert [action.status for action in _actions()] == ["cancelled"]


def test_a_supervised_owner_approves_each_followup(alice, chat, followup_task):
    [action] = _actions()
    assert schedule.actions_dispatch_due(now=action.due_at) == {"fired": 1}
    [due] = _events("followup.due")
    assert due["messageId"] is None and due["approvalId"].startswith("apr_")
    assert [event["id"] for event in _events("approval.requested")] == [due["approvalId"]]
    assert _events("message.outbound") == []


def test_a_due_time_outside_working_hours_moves_to_the_next_working_start(alice, followup_task):
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=NEW_YORK)
    action = reminders.followup_plan(task=followup_task, person=RAJ, due_at=saturday_noon, attempt=2)
    assert action.due_at.astimezone(NEW_YORK) == datetime(2026, 12, 7, 9, 0, tzinfo=NEW_YORK)
    tuesday_late = datetime(2026, 12, 8, 18, 30, tzinfo=NEW_YORK)
    action = reminders.followup_plan(task=followup_task, person=RAJ, due_at=tuesday_late, attempt=2)
    assert action.due_at.astimezone(NEW_YORK) == datetime(2026, 12, 9, 9, 0, tzinfo=NEW_YORK)
    _prefs(alice, "scheduling", {"availability": {"workingHolidays": ["2026-12-09"]}})
    action = reminders.followup_plan(task=followup_task, person=RAJ, due_at=tuesday_late, attempt=2)
    assert action.due_at.astimezone(NEW_YORK) == datetime(2026, 12, 10, 9, 0, tzinfo=NEW_YORK)
    inside = datetime(2026, 12, 8, 10, 15, tzinfo=NEW_YORK)
    action = reminders.followup_plan(task=followup_task, person=RAJ, due_at=inside, attempt=2)
    assert action.due_at == inside


def test_the_scheduling_agent_nudges_a_participant_who_has_not_answered_its_proposal(alice, chat, unsupervised):
    task = TaskFactory(account=alice.account, owner=alice.user, type="scheduling", source_chat=chat,
                       title="Schedule: meet Dana")
    Message.objects.create(account=alice.account, chat=chat, role="user", platform="email", content="Let's meet",
                           metadata={"from": "alice@acme.test", "to": ["dana@partner.test"], "subject": "Meet"})
    proposed_at = datetime(2026, 12, 1, 15, tzinfo=UTC)
    Meeting.objects.create(account=alice.account, task=task, owner=alice.user, title="Meet Dana",
                           start_at=datetime(2026, 12, 3, 15, tzinfo=UTC), end_at=datetime(2026, 12, 3, 16, tzinfo=UTC),
                           status=Meeting.Status.PROPOSED, attendees=[{"email": "dana@partner.test", "name": ""}])
    action = reminders.followup_plan(task=task, person="dana@partner.test", due_at=proposed_at + timedelta(days=1),
                                     since=proposed_at)
    assert action.payload == {"person": "dana@partner.test", "attempt": 1, "since": "2026-12-01T15:00:00Z"}
    assert schedule.actions_dispatch_due(now=action.due_at) == {"fired": 1}
    assert _events("followup.due")[0]["person"] == "dana@partner.test"
    assert _events("message.outbound")[0]["to"] == ["dana@partner.test"]


def test_an_engine_outage_retries_the_followup_with_back_off_then_gives_up(alice, followup_task, unsupervised,
                                                                           anthropic_api):
    for _ in range(2 * schedule.MAX_ATTEMPTS):
        anthropic_api.answer(status=529, error_type="overloaded_error")
    [action] = _actions()
    now = action.due_at
    for attempt in range(1, schedule.MAX_ATTEMPTS + 1):
        outcome = schedule.actions_dispatch_due(now=now)
        action.refresh_from_db()
        assert action.attempts == attempt and "EngineUnavailable" in action.last_error
        if attempt < schedule.MAX_ATTEMPTS:
            assert outcome == {"retry": 1} and action.status == "scheduled" and action.locked_until > now
            now = action.locked_until
    assert outcome == {"failed": 1} and action.status == "failed"
    assert _events("followup.due") == []


def test_the_anthropic_engine_writes_the_followup_from_the_thread(alice, chat, followup_task, unsupervised,
                                                                   anthropic_api):
    from conversations.tests.fake_anthropic import text

    anthropic_api.answer(text("Hi Raj, just checking in on the signed contract. Best, Tess"))
    [action] = _actions()
    assert schedule.actions_dispatch_due(now=action.due_at) == {"fired": 1}
    sent = Message.objects.get(chat=chat, role="assistant", metadata__taskId=followup_task.id)
    assert sent.content == "Hi Raj, just checking in on the signed contract. Best, Tess"
    request = anthropic_api.requests[-1]["body"]
    assert "signed contract" in request["messages"][0]["content"] and RAJ in request["system"][1]["text"]
