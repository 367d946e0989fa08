"""Meeting reminders per the reminders preferences: one per enabled channel before each meeting TSKR booked and
(all-events) each busy synced event of the coming 48 hours, kept in step by reschedules, cancellations and syncs."""
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Event
from calendars_app.models import CalendarEvent
from calendars_app.tests.conftest import connect, identifier, providers, sync  # noqa: F401  fixtures
from directory.models import IdentifierPreferences
from directory.services import preferences_set
from tasks_app import reminders, schedule
from tasks_app.models import ScheduledAction
from tskr.api.rows import iso_datetime


def _soon(hours: float) -> str:
    return iso_datetime((timezone.now() + timedelta(hours=hours)).replace(second=0, microsecond=0))


def _at(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _book(caller, start: str, minutes: int = 30, **body) -> dict:
    task = caller.client.post("/tasks", {"title": "Meet Dana"}).json()["task"]
    response = caller.client.post(f"/tasks/{task['id']}/meetings", {
        "start": start, "end": iso_datetime(_at(start) + timedelta(minutes=minutes)), "force": True, **body})
    assert response.status_code == 201, response.json()
    return response.json()["meeting"]


def _scheduled(**filters) -> list[tuple[str, str, object]]:
    return [(action.kind, action.payload["channel"], action.due_at) for action in
            ScheduledAction.objects.filter(status="scheduled", **filters).order_by("due_at", "id")]


def _events() -> list[dict]:
    return [event.data for event in Event.objects.filter(type="reminder.due").order_by("created_at", "id")]


@pytest.fixture
def email_identifier(identifier):  # noqa: F811
    return identifier


def test_a_booked_meeting_gets_one_reminder_per_enabled_channel_before_it(alice, email_identifier):
    preferences_set(identifier=email_identifier, skill="reminders", values={
        "slack": {"enabled": True, "virtualMinutes": 2}})
    start = _soon(3)
    meeting = _book(alice, start, meetingType="virtual", link="https://zoom.us/j/1", conference="zoom")
    assert _scheduled() == [("meeting_reminder", "email", _at(start) - timedelta(minutes=10)),
                            ("meeting_reminder", "slack", _at(start) - timedelta(minutes=2))]
    assert schedule.actions_dispatch_due(now=_at(start) - timedelta(minutes=10)) == {"fired": 1}
    assert _events() == [{"channel": "email", "userId": alice.user.id, "minutesBefore": 10, "meeting": {
        "id": meeting["id"], "title": "Meet Dana", "start": meeting["start"], "end": meeting["end"], "location": "",
        "conferenceLink": "https://zoom.us/j/1"}}]
    assert schedule.actions_dispatch_due(now=_at(start)) == {"fired": 1}
    assert [event["channel"] for event in _events()] == ["email", "slack"]


def test_an_in_person_meeting_uses_the_in_person_lead_time(alice):
    start = _soon(5)
    _book(alice, start, meetingType="inPerson", location="Room 4")
    assert _scheduled() == [("meeting_reminder", "email", _at(start) - timedelta(minutes=30))]


def test_a_rescheduled_meeting_moves_its_reminders_and_fires_only_at_the_new_time(alice):
    start, later = _soon(3), _soon(6)
    meeting = _book(alice, start)
    moved = alice.client.put(f"/tasks/{meeting['taskId']}/meetings/{meeting['id']}", {
        "start": later, "end": iso_datetime(_at(later) + timedelta(minutes=30)), "force": True})
    assert moved.status_code == 200, moved.json()
    assert _scheduled() == [("meeting_reminder", "email", _at(later) - timedelta(minutes=10))]
    assert schedule.actions_dispatch_due(now=_at(start)) == {}
    assert schedule.actions_dispatch_due(now=_at(later)) == {"fired": 1}
    assert [event["meeting"]["start"] for event in _events()] == [later]


@pytest.mark.parametrize("how", ["cancel", "delete", "delete_task"])
def test_a_cancelled_meeting_cancels_its_reminders(alice, how):
    start = _soon(3)
    meeting = _book(alice, start)
    path = f"/tasks/{meeting['taskId']}/meetings/{meeting['id']}"
    response = {"cancel": lambda: alice.client.post(f"{path}/cancel"), "delete": lambda: alice.client.delete(path),
                "delete_task": lambda: alice.client.delete(f"/tasks/{meeting['taskId']}")}[how]()
    assert response.status_code == 200, response.json()
    assert _scheduled() == []
    assert schedule.actions_dispatch_due(now=_at(start)) == {}
    assert _events() == []


def test_a_reminder_whose_time_has_passed_is_not_sent_after_the_booking(alice):
    _book(alice, _soon(0.1))  # six minutes ahead: the email reminder was due four minutes ago
    assert _scheduled() == []


def test_a_change_of_preferences_replans_at_once(alice, email_identifier):
    start = _soon(3)
    _book(alice, start)
    preferences_set(identifier=email_identifier, skill="reminders", values={"teams": {"enabled": True}})
    assert [channel for _, channel, _ in _scheduled()] == ["email", "teams"]
    preferences_set(identifier=email_identifier, skill="reminders", values={"level": "none"})
    assert _scheduled() == []
    assert schedule.actions_dispatch_due(now=_at(start)) == {} and _events() == []


def test_preferences_changed_behind_the_api_are_caught_by_the_reread(alice, email_identifier):
    start = _soon(3)
    _book(alice, start)
    IdentifierPreferences.objects.update_or_create(user_identifier=email_identifier, defaults={
        "account_id": alice.account.id, "data": {"reminders": {"level": "none"}}})
    assert schedule.actions_dispatch_due(now=_at(start)) == {"cancelled": 1}
    assert _events() == []


def test_meetings_beyond_the_horizon_are_planned_when_it_reaches_them(alice):
    start = _soon(60)
    _book(alice, start)
    assert _scheduled() == []
    reminders.meeting_reminders_plan_all(now=_at(start) - timedelta(hours=47))
    assert _scheduled() == [("meeting_reminder", "email", _at(start) - timedelta(minutes=10))]


def test_another_accounts_meeting_routes_are_404_and_its_reminders_stay(alice, charlie):
    meeting = _book(alice, _soon(3))
    path = f"/tasks/{meeting['taskId']}/meetings/{meeting['id']}"
    assert charlie.client.post(f"{path}/cancel").status_code == 404
    assert charlie.client.put(path, {"start": _soon(5)}).status_code == 404
    assert len(_scheduled()) == 1


# -- synced events ------------------------------------------------------------------------------------------

@pytest.fixture
def google(providers, identifier):  # noqa: F811
    providers.google_calendar("alice@acme.test", "Alice", primary=True)
    connect(providers, identifier, "google")
    return providers


def test_synced_events_get_reminders_and_the_sync_keeps_them_in_step(alice, google, identifier):  # noqa: F811
    start, end = _soon(4), _soon(5)
    google.google_event("alice@acme.test", "standup", start, end, meet=True)
    google.google_event("alice@acme.test", "lunch", _soon(6), _soon(7), transparency="transparent")
    google.google_event("alice@acme.test", "far", _soon(80), _soon(81))
    sync(identifier)
    event = CalendarEvent.objects.get(provider_id="standup")
    assert _scheduled() == [("event_reminder", "email", _at(start) - timedelta(minutes=10))]  # virtual: Meet

    later, later_end = _soon(8), _soon(9)
    google.google_event("alice@acme.test", "standup", later, later_end, meet=False)  # moved, now in person
    sync(identifier)
    assert _scheduled() == [("event_reminder", "email", _at(later) - timedelta(minutes=30))]
    assert schedule.actions_dispatch_due(now=_at(start)) == {}

    google.google_event("alice@acme.test", "standup", later, later_end, response="declined")
    sync(identifier)
    assert _scheduled() == []
    assert schedule.actions_dispatch_due(now=_at(later)) == {}

    google.google_event("alice@acme.test", "standup", later, later_end)
    sync(identifier)
    assert schedule.actions_dispatch_due(now=_at(later)) == {"fired": 1}
    [fired] = _events()
    assert fired["event"] == {"id": event.id, "title": "Meeting", "start": later, "end": later_end, "location": "",
                              "conferenceLink": None}
    assert fired["minutesBefore"] == 30 and fired["channel"] == "email"


def test_tskr_events_level_leaves_synced_events_out(alice, google, identifier):  # noqa: F811
    preferences_set(identifier=identifier, skill="reminders", values={"level": "tskr-events"})
    google.google_event("alice@acme.test", "standup", _soon(4), _soon(5))
    sync(identifier)
    assert _scheduled() == []
    _book(alice, _soon(3))
    assert [kind for kind, _, _ in _scheduled()] == ["meeting_reminder"]


def test_an_event_deleted_at_the_provider_cancels_its_reminder(alice, google, identifier):  # noqa: F811
    start = _soon(4)
    google.google_event("alice@acme.test", "standup", start, _soon(5))
    sync(identifier)
    google.google_delete_event("alice@acme.test", "standup")
    sync(identifier)
    assert _scheduled() == []
    assert schedule.actions_dispatch_due(now=_at(start)) == {}


def test_a_booking_plans_its_own_reminders_whatever_the_owners_calendar_holds(alice, django_assert_max_num_queries):
    """Booking re-plans only the booked meeting, so its cost does not grow with the owner's other meetings."""
    first = _book(alice, _soon(3))
    for hours in range(4, 9):
        _book(alice, _soon(hours))
    before = list(ScheduledAction.objects.filter(meeting_id=first["id"]).values_list("id", "updated_at"))
    task = alice.client.post("/tasks", {"title": "One more"}).json()["task"]
    start = _soon(10)
    with django_assert_max_num_queries(40) as captured:
        alice.client.post(f"/tasks/{task['id']}/meetings", {
            "start": start, "end": iso_datetime(_at(start) + timedelta(minutes=30)), "force": True})
    assert not any("calendars_app_calendarevent" in query["sql"] for query in captured.captured_queries)
    assert list(ScheduledAction.objects.filter(meeting_id=first["id"]).values_list("id", "updated_at")) == before
    assert len(_scheduled(kind="meeting_reminder")) == 7
