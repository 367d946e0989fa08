"""POST /availability, GET /scheduling/conflicts and GET /calendar-events through the HTTP API: the busy
rules on stored occurrences, calendars.read, timezone fallbacks, validation, isolation and query counts."""
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone

from calendars_app import selectors
from calendars_app.models import CalendarEvent
from directory.models import IdentifierPreferences, UserIdentifier

from .factories import CalendarEventFactory, UserCalendarFactory

EVERY_DAY = {day: [{"start": "09:00", "end": "17:00"}] for day in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")}


def _day(days_ahead: int = 3) -> datetime:
    """Midnight UTC a few days ahead: slots must be in the future."""
    return (timezone.now() + timedelta(days=days_ahead)).replace(hour=0, minute=0, second=0, microsecond=0)


def _identifier(caller) -> UserIdentifier:
    return UserIdentifier.objects.get(account=caller.account, user=caller.user, type="email")


def _prefer(caller, **scheduling) -> None:
    scheduling.setdefault("availability", {}).setdefault("workingHours", EVERY_DAY)
    IdentifierPreferences.objects.update_or_create(
        user_identifier=_identifier(caller), defaults={"account": caller.account, "data": {"scheduling": scheduling}})


def _calendar(caller, *, primary=True, timezone_name="UTC", **kwargs):
    return UserCalendarFactory(identifier=_identifier(caller), is_primary=primary,
                               calendar__timezone=timezone_name, **kwargs).calendar


def _availability(caller, day: datetime, **body):
    body = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "timezone": "UTC", **body}
    return caller.client.post("/availability", body)


def _starts(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [slot["start"][11:16] for slot in response.json()["availability"]["slots"]]


# -- POST /availability --------------------------------------------------------------------------------

@pytest.mark.smoke
def test_availability_answers_slots_and_participants_in_the_contract_shape(alice):
    alice.user.timezone = "Europe/Paris"
    alice.user.save()
    _prefer(alice)
    calendar = _calendar(alice)
    day = _day()
    CalendarEventFactory(calendar=calendar, start=day + timedelta(hours=12))
    response = alice.client.post("/availability", {"start": day.isoformat(),
                                                   "end": (day + timedelta(days=1)).isoformat(), "limit": 2})
    assert response.status_code == 200
    body = response.json()["availability"]
    offset = body["slots"][0]["localStart"][-6:]
    assert body["timezone"] == "Europe/Paris" and body["duration"] == 30 and body["emptyReason"] is None
    assert body["slots"][0]["localStart"][11:16] == "09:00" and offset in {"+01:00", "+02:00"}
    assert set(body["slots"][0]) == {"start", "end", "localStart", "localEnd"} and body["slots"][0]["end"][-1] == "Z"
    assert len(body["slots"]) == 2
    assert body["participants"] == [{"userId": alice.user.id, "timezone": "Europe/Paris",
                                     "calendars": [calendar.id], "lastSyncedAt": None, "syncError": False}]


def test_busy_rules_free_declined_and_cancelled_do_not_block_tentative_and_unanswered_do(alice):
    _prefer(alice)
    calendar = _calendar(alice)
    day = _day()
    hour = lambda h: day + timedelta(hours=h)  # noqa: E731
    CalendarEventFactory(calendar=calendar, start=hour(9), transparency="transparent")
    CalendarEventFactory(calendar=calendar, start=hour(10), response_status="declined")
    CalendarEventFactory(calendar=calendar, start=hour(11), status="cancelled")
    CalendarEventFactory(calendar=calendar, start=hour(12), status="tentative")
    CalendarEventFactory(calendar=calendar, start=hour(13), response_status="needsAction")
    CalendarEventFactory(calendar=calendar, start=hour(14), response_status="tentative")
    starts = _starts(_availability(alice, day, interval=60, duration=60))
    assert starts == ["09:00", "10:00", "11:00", "15:00", "16:00"]


def test_an_all_day_event_blocks_the_participants_local_day_only_when_busy(alice):
    alice.user.timezone = "Pacific/Auckland"
    alice.user.save()
    _prefer(alice)
    calendar = _calendar(alice)
    day = _day(5)
    local = day.date()
    CalendarEventFactory(calendar=calendar, start=day, end=day + timedelta(days=1), all_day=True, start_date=local,
                         end_date=local + timedelta(days=1))
    window = {"start": (day - timedelta(days=1)).isoformat(), "end": (day + timedelta(days=2)).isoformat(),
              "timezone": "Pacific/Auckland", "limit": 500}
    body = alice.client.post("/availability", window).json()["availability"]
    days = {slot["localStart"][:10] for slot in body["slots"]}
    assert local.isoformat() not in days and (local + timedelta(days=1)).isoformat() in days
    CalendarEvent.objects.update(transparency="transparent")
    body = alice.client.post("/availability", window).json()["availability"]
    assert local.isoformat() in {slot["localStart"][:10] for slot in body["slots"]}


def test_only_the_calendars_of_calendars_read_count(alice):
    read = _calendar(alice)
    ignored = _calendar(alice, primary=False)
    _prefer(alice, calendars={"read": [read.reference_id]})
    day = _day()
    CalendarEventFactory(calendar=ignored, start=day + timedelta(hours=9))
    response = _availability(alice, day, interval=60, duration=60)
    assert _starts(response)[0] == "09:00"
    assert response.json()["availability"]["participants"][0]["calendars"] == [read.id]


def test_the_participant_timezone_falls_back_to_the_primary_calendar_then_utc(alice, bob):
    _calendar(alice, timezone_name="Asia/Kolkata")
    _prefer(alice)
    day = _day()
    body = _availability(alice, day, participants=[alice.user.id, bob.user.email.upper()]).json()["availability"]
    assert [p["timezone"] for p in body["participants"]] == ["Asia/Kolkata", "UTC"]
    # Kolkata 09:00-17:00 is 03:30-11:30Z; bob (defaults, UTC) works 09:00-17:00 on weekdays
    if day.weekday() < 5:
        assert body["slots"][0]["start"][11:16] == "09:00" and body["slots"][-1]["end"][11:16] == "11:30"
    else:
        assert body["emptyReason"] == "no_working_hours"


def test_daily_limit_and_meeting_defaults_come_from_the_preferences(alice):
    _prefer(alice, buffers={"dailyMeetingLimit": 60}, defaults={"inPerson": {"duration": 45}})
    calendar = _calendar(alice)
    day = _day()
    CalendarEventFactory(calendar=calendar, start=day + timedelta(hours=9))
    response = _availability(alice, day, meetingType="inPerson")
    body = response.json()["availability"]
    assert body["duration"] == 45 and body["slots"] == [] and body["emptyReason"] == "daily_limit_reached"


def test_a_window_in_the_past_says_so(alice):
    day = _day(-3)
    body = _availability(alice, day).json()["availability"]
    assert body == {**body, "slots": [], "emptyReason": "window_in_past"}


@pytest.mark.parametrize("body,field", [
    ({"start": "2027-01-02T00:00:00Z", "end": "2027-01-01T00:00:00Z"}, "end"),
    ({"start": "2027-01-01T00:00:00Z", "end": "2027-03-05T00:00:00Z"}, "end"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"participants": [f"u{n}@acme.test" for n in range(21)]}, "participants"),
    ({"participants": []}, "participants"),
    ({"participants": [7]}, "participants.0"),
    ({"limit": 501}, "limit"),
    ({"duration": "long"}, "duration"),
    ({"interval": 0}, "interval"),
    ({"meetingType": "phone"}, "meetingType"),
    ({"start": "tomorrow"}, "start"),
])
def test_availability_refuses_bad_input_with_the_error_envelope(alice, body, field):
    response = alice.client.post("/availability", body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error" and field in response.json()["details"]


def test_participants_must_be_users_of_the_callers_account(alice, bob, charlie):
    for reference in (charlie.user.id, charlie.user.email, "nobody@acme.test"):
        response = alice.client.post("/availability", {"participants": [bob.user.id, reference]})
        assert response.status_code == 404
        assert response.json()["error_code"] == "user_not_found"
        assert response.json()["details"] == {"participants": [reference]}
    response = charlie.client.post("/availability", {"participants": [alice.user.email]})
    assert response.status_code == 404


def test_availability_needs_a_delegated_token(manager, anonymous):
    assert manager.client.post("/availability", {}).json()["error_code"] == "user_context_required"
    assert anonymous.post("/availability", {}).status_code == 401


@pytest.mark.parametrize("events", [5, 300])
def test_availability_costs_three_queries_whatever_the_participants_and_events(
        alice, bob, events, django_assert_max_num_queries):
    third = alice.teammate("carol@acme.test")
    people = [alice, bob, third]
    day = _day()
    for person in people:
        _prefer(person)
        calendar = _calendar(person)
        CalendarEventFactory.create_batch(events, calendar=calendar, start=day + timedelta(hours=12))
    client = alice.client
    client.post("/availability", {})  # provision and warm the certificate cache
    # 1. the token's user; 2. the participants with their preferences, primary calendar's zone and
    # calendars; 3. their busy occurrences.
    with django_assert_max_num_queries(3):
        response = client.post("/availability", {"start": day.isoformat(), "participants": [
            person.user.id for person in people]})
    assert response.status_code == 200 and response.json()["availability"]["slots"]
    # the same three for one participant
    with django_assert_max_num_queries(3):
        assert client.post("/availability", {"start": day.isoformat()}).status_code == 200


# -- GET /scheduling/conflicts ---------------------------------------------------------------------------

def test_conflicts_list_overlapping_busy_events_and_broken_rules(alice):
    _prefer(alice, buffers={"bufferType": "meeting", "bufferLength": 15})
    calendar = _calendar(alice)
    day = _day()
    meeting = CalendarEventFactory(calendar=calendar, start=day + timedelta(hours=10), title="Board")
    CalendarEventFactory(calendar=calendar, start=day + timedelta(hours=11), transparency="transparent")
    response = alice.client.get("/scheduling/conflicts", {"start": (day + timedelta(hours=10, minutes=30)).isoformat(),
                                                          "end": (day + timedelta(hours=11, minutes=30)).isoformat()})
    assert response.status_code == 200
    assert response.json()["conflicts"] == {"hasConflict": True, "events": [{
        "eventId": meeting.id, "calendarId": calendar.id, "title": "Board",
        "start": meeting.start.isoformat().replace("+00:00", "Z"),
        "end": meeting.end.isoformat().replace("+00:00", "Z"), "reason": "busy"}], "issues": []}
    near = alice.client.get("/scheduling/conflicts", {"start": (day + timedelta(hours=11, minutes=5)).isoformat(),
                                                      "end": (day + timedelta(hours=12)).isoformat()}).json()
    assert near["conflicts"] == {"hasConflict": True, "events": [], "issues": [{"reason": "buffer"}]}
    late = alice.client.get("/scheduling/conflicts", {"start": (day + timedelta(hours=20)).isoformat(),
                                                      "end": (day + timedelta(hours=21)).isoformat()}).json()
    assert late["conflicts"]["issues"] == [{"reason": "outside_working_hours"}]
    free = alice.client.get("/scheduling/conflicts", {"start": (day + timedelta(hours=14)).isoformat(),
                                                      "end": (day + timedelta(hours=15)).isoformat()}).json()
    assert free["conflicts"] == {"hasConflict": False, "events": [], "issues": []}


def test_conflicts_of_a_teammate_by_user_id_but_never_of_another_account(alice, bob, charlie):
    day = _day()
    params = {"start": day.isoformat(), "end": (day + timedelta(hours=1)).isoformat()}
    assert alice.client.get("/scheduling/conflicts", {**params, "userId": bob.user.id}).status_code == 200
    response = alice.client.get("/scheduling/conflicts", {**params, "userId": charlie.user.id})
    assert response.status_code == 404 and response.json()["error_code"] == "user_not_found"
    response = alice.client.get("/scheduling/conflicts", {"start": params["end"], "end": params["start"]})
    assert response.status_code == 400 and "end" in response.json()["details"]
    assert alice.client.get("/scheduling/conflicts", {"start": "x", "end": "y"}).status_code == 400


# -- GET /calendar-events --------------------------------------------------------------------------------

def test_calendar_events_lists_the_callers_occurrences_by_start(alice, bob, charlie):
    calendar = _calendar(alice)
    day = _day()
    late = CalendarEventFactory(calendar=calendar, start=day + timedelta(hours=15), has_conference=True)
    early = CalendarEventFactory(calendar=calendar, start=day + timedelta(hours=9), transparency="transparent",
                                 response_status="needsAction")
    CalendarEventFactory(calendar=calendar, start=day + timedelta(days=3))  # outside the range
    bobs = _calendar(bob)
    CalendarEventFactory(calendar=bobs, start=day + timedelta(hours=10))
    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    body = alice.client.get("/calendar-events", params).json()
    assert [event["id"] for event in body["calendarEvents"]] == [early.id, late.id] and body["total"] == 2
    assert body["calendarEvents"][0] == {
        "id": early.id, "calendarId": calendar.id, "title": early.title,
        "start": early.start.isoformat().replace("+00:00", "Z"), "end": early.end.isoformat().replace("+00:00", "Z"),
        "allDay": False, "status": "confirmed", "busy": False, "responseStatus": "needsAction",
        "hasConference": False}
    assert early.id.startswith("cev_")
    assert alice.client.get("/calendar-events", {**params, "calendarId": calendar.id}).json()["total"] == 2
    for outsider in (bob, charlie):
        assert outsider.client.get("/calendar-events", {**params, "calendarId": calendar.id}).status_code == 404
    assert [event["calendarId"] for event in bob.client.get("/calendar-events", params).json()["calendarEvents"]] == [
        bobs.id]
    assert charlie.client.get("/calendar-events", params).json()["calendarEvents"] == []


def test_calendar_events_needs_a_range_and_a_delegated_token(alice, manager):
    response = alice.client.get("/calendar-events")
    assert response.status_code == 400 and set(response.json()["details"]) == {"start", "end"}
    assert manager.client.get("/calendar-events", {"start": "2027-01-01T00:00:00Z",
                                                   "end": "2027-01-02T00:00:00Z"}).status_code == 403


@pytest.mark.parametrize("per_page", [2, 50])
def test_calendar_events_list_uses_a_constant_number_of_queries(alice, per_page, django_assert_max_num_queries):
    calendar = _calendar(alice)
    day = _day()
    CalendarEventFactory.create_batch(60, calendar=calendar, start=day + timedelta(hours=1))
    client = alice.client
    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "perPage": per_page}
    client.get("/calendar-events", params)
    # 1. the token's user; 2. the count; 3. the page (the user's calendars are a subquery of both)
    with django_assert_max_num_queries(3):
        response = client.get("/calendar-events", params)
    assert len(response.json()["calendarEvents"]) == per_page


def test_times_without_an_offset_are_utc(alice):
    calendar = _calendar(alice)
    CalendarEventFactory(calendar=calendar, start=datetime(2027, 1, 4, 10, tzinfo=dt_timezone.utc))
    body = alice.client.get("/calendar-events", {"start": "2027-01-04T10:30:00", "end": "2027-01-04T10:45:00"}).json()
    assert body["total"] == 1


def test_a_calendar_two_participants_read_is_busy_for_both(alice, bob):
    shared = _calendar(alice)
    UserCalendarFactory(identifier=_identifier(bob), calendar=shared)
    day = _day()
    CalendarEventFactory(calendar=shared, start=day + timedelta(hours=10))
    contexts = selectors.participants_load(account=alice.account, references=[alice.user.id, bob.user.email])
    busy = selectors.participants_busy_load(participants=contexts, start=day, end=day + timedelta(days=1))
    assert [[occurrence.start for occurrence in found] for found in busy] == [[day + timedelta(hours=10)]] * 2
