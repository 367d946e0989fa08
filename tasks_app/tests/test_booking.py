"""Booking: meetings written to Google Calendar and Outlook through the local fake providers (real HTTP),
rescheduled by patch, cancelled in place, never double-booked, with an .ics invite."""
import threading
from datetime import datetime, timedelta, timezone as dt_timezone

import icalendar
import pytest
from django.db import connection

from accounts.models import Event
from calendars_app.models import CalendarEvent, OAuthAccess
from calendars_app.selectors import participants_busy_load, participants_load
from calendars_app.tests.conftest import connect, identifier, providers, sync  # noqa: F401  fixtures
from directory.services import preferences_set
from tasks_app import tasks
from tasks_app.models import Activity, Meeting
from tskr.testing import run_together

#: Tuesday 1 December 2026, 10:00 in New York (the calendars' zone, hence alice's): inside working hours
START = "2026-12-01T15:00:00Z"
END = "2026-12-01T15:30:00Z"


def _task(caller, title="Meet Dana"):
    return caller.client.post("/tasks", {"title": title}).json()["task"]


def _book(caller, task, **body):
    return caller.client.post(f"/tasks/{task['id']}/meetings", {"start": START, "end": END, **body})


@pytest.fixture
def google(providers, identifier):  # noqa: F811
    """Alice's Google calendar, synced, with a grant that may write."""
    identifier.platforms = {"google": {"accessGranted": ["calendars.read", "calendars.write"]}}
    identifier.save()
    providers.google_calendar("alice@acme.test", "Alice", primary=True)
    providers.google_calendar("holidays@group.v.calendar.google.com", "Holidays", access_role="reader")
    connect(providers, identifier, "google")
    sync(identifier)
    return providers


@pytest.fixture
def graph(providers, identifier):  # noqa: F811
    identifier.platforms = {"azure": {"accessGranted": ["calendars.read", "calendars.write"]}}
    identifier.save()
    providers.graph_calendar("AAMk-default", "Calendar", default=True, owner="alice@acme.test")
    connect(providers, identifier, "azure")
    sync(identifier)
    return providers


def _calendar_id(reference):
    from calendars_app.models import Calendar
    return Calendar.objects.get(reference_id=reference).id


GOOGLE_EVENTS = "google:events:alice@acme.test"


def test_google_booking_writes_the_event_with_meet_attendees_and_the_derived_id(alice, google):
    task = _task(alice)
    response = _book(alice, task, title="Intro", conference="meet", timezone="America/New_York",
                     attendees=["dana@partner.test", {"email": "eli@partner.test", "name": "Eli"}])
    assert response.status_code == 201, response.json()
    meeting = response.json()["meeting"]
    row = Meeting.objects.get(id=meeting["id"])
    assert meeting["id"].startswith("mtg_") and meeting["status"] == "booked" and meeting["sequence"] == 0
    assert meeting["calendarId"] == _calendar_id("alice@acme.test")
    assert meeting["providerEventId"] == row.google_event_id
    assert meeting["conferenceLink"].startswith("https://meet.google.com/")
    assert meeting["htmlLink"].startswith("https://calendar.google.com/")
    [post] = [r for r in google.requests if r["method"] == "POST" and r["path"].endswith("/events")]
    assert post["query"] == {"sendUpdates": "all", "conferenceDataVersion": "1"}
    assert post["json"]["id"] == row.google_event_id
    assert set(post["json"]["id"]) <= set("0123456789abcdefghijklmnopqrstuv")  # base32hex, as Google requires
    assert post["json"]["start"] == {"dateTime": "2026-12-01T10:00:00", "timeZone": "America/New_York"}
    assert post["json"]["attendees"] == [{"email": "dana@partner.test"},
                                         {"email": "eli@partner.test", "displayName": "Eli"}]
    assert post["json"]["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    detail = alice.client.get(f"/tasks/{task['id']}").json()["task"]
    assert detail["meetings"] == [meeting]
    assert detail["activities"][-1]["type"] == "meeting"
    assert detail["activities"][-1]["metadata"] == {"meetingId": meeting["id"], "sequence": 0}


def test_microsoft_booking_uses_the_transaction_id_and_asks_for_teams(alice, graph):
    task = _task(alice)
    response = _book(alice, task, conference="teams", sendUpdates=False)
    assert response.status_code == 201, response.json()
    meeting = response.json()["meeting"]
    [post] = [r for r in graph.requests if r["method"] == "POST" and r["path"].endswith("/events")]
    assert post["json"]["transactionId"] == meeting["id"]
    assert post["json"]["isOnlineMeeting"] is True and post["json"]["onlineMeetingProvider"] == "teamsForBusiness"
    assert meeting["conferenceLink"].startswith("https://teams.microsoft.com/")
    assert meeting["providerEventId"] in graph.events_of("microsoft:events:AAMk-default")


def test_zoom_link_and_conference_come_from_the_owners_preferences(alice, google, identifier):  # noqa: F811
    preferences_set(identifier=identifier, skill="scheduling", values={"defaults": {"virtual": {
        "conferenceSolution": "zoom", "defaultMeetingLink": "https://zoom.us/j/123"}}})
    meeting = _book(alice, _task(alice)).json()["meeting"]
    assert (meeting["conference"], meeting["conferenceLink"]) == ("zoom", "https://zoom.us/j/123")
    [event] = google.events_of(GOOGLE_EVENTS).values()
    assert "conferenceData" not in event and "https://zoom.us/j/123" in event["description"]


def test_a_retry_after_a_timeout_creates_one_provider_event(alice, google, settings):
    settings.TSKR_BOOKING_PROVIDER_TIMEOUT_SECONDS = 1
    settings.TSKR_BOOKING_SWEEP_AFTER_SECONDS = 0
    pause = google.pause_on("/events")
    response = _book(alice, _task(alice))
    assert response.status_code == 502 and response.json()["error_code"] == "calendar_provider_error"
    meeting = Meeting.objects.get()
    assert meeting.status == "pending"
    pause.release.set()  # the provider finishes the write the client gave up on
    for _ in range(100):
        if google.events_of(GOOGLE_EVENTS):
            break
        threading.Event().wait(0.05)
    assert tasks.meetings_finish_pending() == 1
    meeting.refresh_from_db()
    assert meeting.status == "booked" and meeting.provider_event_id == meeting.google_event_id
    assert list(google.events_of(GOOGLE_EVENTS)) == [meeting.google_event_id]
    assert google.count("/events", "POST") == 2  # the second got Google's 409 and read the event back
    assert tasks.meetings_finish_pending() == 0


def test_a_provider_5xx_answers_502_and_leaves_the_meeting_pending_for_the_sweep(alice, google, settings):
    settings.TSKR_BOOKING_SWEEP_AFTER_SECONDS = 0
    google.fail("/events", 503)
    response = _book(alice, _task(alice))
    assert response.status_code == 502 and response.json()["error_code"] == "calendar_provider_error"
    assert Meeting.objects.get().status == "pending"
    assert tasks.meetings_finish_pending() == 1
    assert Meeting.objects.get().status == "booked" and len(google.events_of(GOOGLE_EVENTS)) == 1


def test_reschedule_patches_the_same_event_and_raises_the_sequence(alice, google):
    task = _task(alice)
    meeting = _book(alice, task).json()["meeting"]
    response = alice.client.put(f"/tasks/{task['id']}/meetings/{meeting['id']}",
                                {"start": "2026-12-01T16:00:00-05:00", "end": "2026-12-01T16:45:00-05:00",
                                 "title": "Moved"})
    assert response.status_code == 200, response.json()
    moved = response.json()["meeting"]
    assert (moved["start"], moved["end"], moved["sequence"], moved["providerEventId"]) == (
        "2026-12-01T21:00:00Z", "2026-12-01T21:45:00Z", 1, meeting["providerEventId"])
    assert google.count("/events", "PATCH") == 1 and google.count("/events", "DELETE") == 0
    assert google.count("/events", "POST") == 1
    [event] = google.events_of(GOOGLE_EVENTS).values()
    assert event["start"]["dateTime"] == "2026-12-01T16:00:00-05:00" and event["summary"] == "Moved"
    activity = Activity.objects.filter(task_id=task["id"], type="meeting").order_by("created_at").last()
    assert activity.metadata["previousAttributes"]["start"] == "2026-12-01T15:00:00+00:00"


def test_reschedule_ignores_the_meeting_itself_but_not_another(alice, google):
    task = _task(alice)
    first = _book(alice, task).json()["meeting"]
    _book(alice, task, start="2026-12-01T16:00:00Z", end="2026-12-01T16:30:00Z")
    path = f"/tasks/{task['id']}/meetings/{first['id']}"
    assert alice.client.put(path, {"end": "2026-12-01T15:45:00Z"}).status_code == 200
    response = alice.client.put(path, {"end": "2026-12-01T16:15:00Z"})
    assert response.status_code == 409 and response.json()["error_code"] == "slot_unavailable"
    assert Meeting.objects.get(id=first["id"]).end_at == datetime(2026, 12, 1, 15, 45, tzinfo=dt_timezone.utc)


def test_cancel_deletes_at_google_with_updates_and_keeps_the_row(alice, google):
    task = _task(alice)
    meeting = _book(alice, task).json()["meeting"]
    response = alice.client.post(f"/tasks/{task['id']}/meetings/{meeting['id']}/cancel")
    assert response.status_code == 200 and response.json()["meeting"]["status"] == "cancelled"
    [delete] = [r for r in google.requests if r["method"] == "DELETE"]
    assert delete["query"] == {"sendUpdates": "all"}
    assert google.events_of(GOOGLE_EVENTS) == {}
    # the time is free again
    assert _book(alice, task).status_code == 201


def test_delete_cancels_at_graph_as_organizer_then_removes_the_row(alice, graph):
    task = _task(alice)
    meeting = _book(alice, task).json()["meeting"]
    response = alice.client.delete(f"/tasks/{task['id']}/meetings/{meeting['id']}")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "meeting": {"id": meeting["id"],
                                                       "message": "Meeting cancelled and deleted"}}
    assert graph.count(f"/me/events/{meeting['providerEventId']}/cancel", "POST") == 1
    assert not Meeting.objects.exists()
    assert Activity.objects.filter(task_id=task["id"], type="meeting").count() == 2


def test_a_booking_without_a_writable_calendar_is_booked_in_tskr_and_invited_by_ics(alice, bob):
    task = _task(alice)
    meeting = _book(alice, task, title="Offsite", timezone="Europe/Paris", location="Room 1",
                    link="https://zoom.us/j/9", attendees=[{"email": "dana@partner.test", "name": "Dana"}]
                    ).json()["meeting"]
    assert (meeting["calendarId"], meeting["status"], meeting["providerEventId"]) == (None, "booked", "")
    response = alice.client.get(f"/tasks/{task['id']}/meetings/{meeting['id']}/ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(response.content)
    assert str(parsed["METHOD"]) == "REQUEST"
    [event] = parsed.walk("VEVENT")
    assert str(event["UID"]) == f"{meeting['id']}@tskr" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 15, tzinfo=dt_timezone.utc)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert str(event["ORGANIZER"]) == "mailto:alice@acme.test"
    assert [str(a) for a in [event["ATTENDEE"]]] == ["mailto:dana@partner.test"]
    assert event["ATTENDEE"].params["CN"] == "Dana" and str(event["URL"]) == "https://zoom.us/j/9"
    assert parsed.walk("VTIMEZONE")
    alice.client.post(f"/tasks/{task['id']}/meetings/{meeting['id']}/cancel")
    cancelled = icalendar.Calendar.from_ical(
        alice.client.get(f"/tasks/{task['id']}/meetings/{meeting['id']}/ics").content)
    [event] = cancelled.walk("VEVENT")
    assert str(cancelled["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 1 and event["UID"] == f"{meeting['id']}@tskr"
    # the teammate sees the account's task, so its invite too
    assert bob.client.get(f"/tasks/{task['id']}/meetings/{meeting['id']}/ics").status_code == 200


def test_conflicts_answer_409_with_the_events_and_reasons_unless_forced(alice, google):
    google.google_event("alice@acme.test", "busy1", "2026-12-01T10:15:00-05:00", "2026-12-01T11:00:00-05:00",
                        summary="Dentist")
    from calendars_app.tests.conftest import sync as resync
    from directory.models import UserIdentifier
    resync(UserIdentifier.objects.get(user=alice.user, type="email"))
    task = _task(alice)
    response = _book(alice, task)
    assert response.status_code == 409 and response.json()["error_code"] == "slot_unavailable"
    details = response.json()["details"]
    assert [(e["title"], e["reason"]) for e in details["events"]] == [("Dentist", "busy")]
    late = _book(alice, task, start="2026-12-01T23:00:00Z", end="2026-12-01T23:30:00Z").json()
    assert late["details"]["issues"] == [{"reason": "outside_working_hours"}]
    forced = _book(alice, task, force=True)
    assert forced.status_code == 201
    again = _book(alice, task, start="2026-12-01T15:15:00Z", end="2026-12-01T15:45:00Z", force=True)
    assert again.status_code == 409  # force never double-books a TSKR meeting
    assert [e["reason"] for e in again.json()["details"]["events"]] == ["busy", "booked"]


def test_a_booked_meeting_is_busy_at_once_and_counted_once_after_the_sync(alice, google, identifier):  # noqa: F811
    task = _task(alice)
    _book(alice, task)
    body = {"participants": [alice.user.id], "start": "2026-12-01T14:00:00Z", "end": "2026-12-01T17:00:00Z",
            "duration": 30}
    slots = alice.client.post("/availability", body).json()["availability"]["slots"]
    assert START not in [slot["start"] for slot in slots]
    conflicts = alice.client.get("/scheduling/conflicts", {"start": START, "end": END}).json()["conflicts"]
    assert conflicts["hasConflict"] and [e["reason"] for e in conflicts["events"]] == ["booked"]
    sync(identifier)
    assert CalendarEvent.objects.count() == 1  # the sync found the booked event
    context = participants_load(account=alice.account, references=[alice.user.id])
    [busy] = participants_busy_load(participants=context, start=datetime(2026, 12, 1, tzinfo=dt_timezone.utc),
                                    end=datetime(2026, 12, 2, tzinfo=dt_timezone.utc))
    assert len(busy) == 1


def test_only_the_meetings_holding_their_owners_time_around_the_window_make_them_busy(alice, bob):
    from .factories import MeetingFactory, TaskFactory

    day = datetime(2026, 12, 1, tzinfo=dt_timezone.utc)
    task = TaskFactory(account=alice.account, owner=alice.user)
    for hour, status, owner in [(9, "pending", alice), (10, "booked", alice), (11, "proposed", alice),
                                (12, "cancelled", alice), (13, "booked", bob), (24 * 4, "booked", alice)]:
        MeetingFactory(task=task, owner=owner.user, status=status, start_at=day + timedelta(hours=hour))
    context = participants_load(account=alice.account, references=[alice.user.id])
    [busy] = participants_busy_load(participants=context, start=day, end=day + timedelta(hours=24))
    assert [occurrence.start.hour for occurrence in busy] == [9, 10]


def test_an_expired_token_is_refreshed_and_the_write_retried_once(alice, google):
    google.expire_access_tokens()
    response = _book(alice, _task(alice))
    assert response.status_code == 201, response.json()
    assert google.count("/google/token", "POST") == 1


def test_invalid_grant_answers_409_and_marks_the_grant_for_reconsent(alice, google):
    google.expire_access_tokens()
    google.revoke_refresh_tokens()
    response = _book(alice, _task(alice))
    assert response.status_code == 409 and response.json()["error_code"] == "oauth_reauthorization_required"
    assert OAuthAccess.objects.get().status == "needs_reconsent"
    assert not Meeting.objects.exists()


def test_an_explicit_read_only_calendar_or_a_refused_write_is_calendar_not_writable(alice, google, identifier):  # noqa: F811
    task = _task(alice)
    holidays = _calendar_id("holidays@group.v.calendar.google.com")
    response = _book(alice, task, calendarId=holidays)
    assert response.status_code == 409 and response.json()["error_code"] == "calendar_not_writable"
    google.google_calendar("alice@acme.test", "Alice", primary=True, access_role="reader")  # changed at Google
    response = _book(alice, task)
    assert response.status_code == 409 and response.json()["error_code"] == "calendar_not_writable"
    assert not Meeting.objects.exists()
    identifier.platforms = {"google": {"accessGranted": ["calendars.read"]}}
    identifier.save()
    response = _book(alice, task, calendarId=_calendar_id("alice@acme.test"))
    assert response.status_code == 409 and response.json()["error_code"] == "calendar_not_writable"
    # without an explicit calendar, no write scope means booked in TSKR only
    assert _book(alice, task).json()["meeting"]["calendarId"] is None


def test_bad_input_is_a_400_envelope(alice):
    task = _task(alice)
    path = f"/tasks/{task['id']}/meetings"
    for body in ({"start": START, "end": START}, {"start": START, "end": END, "duration": 30},
                 {"start": START, "attendees": ["not-an-email"]}, {"start": START, "conference": "skype"},
                 {"start": START, "attendees": [{"mail": "x@y.test"}]}, {"start": START, "timezone": "Mars/Base"}):
        response = alice.client.post(path, body)
        assert response.status_code == 400, body
        assert response.json()["error_code"] == "validation_error"
    assert alice.client.post(path, {"start": START, "calendarId": "cal_nope"}).json()["error_code"] == \
        "calendar_not_found"


def test_other_accounts_get_404_on_every_meeting_route(alice, charlie):
    task = _task(alice)
    meeting = _book(alice, task).json()["meeting"]
    base = f"/tasks/{task['id']}/meetings"
    for method, url, data in [("post", base, {"start": START, "end": END}),
                              ("put", f"{base}/{meeting['id']}", {"title": "x"}),
                              ("post", f"{base}/{meeting['id']}/cancel", None),
                              ("delete", f"{base}/{meeting['id']}", None), ("get", f"{base}/{meeting['id']}/ics", None)]:
        response = getattr(charlie.client, method)(url, data)
        assert response.status_code == 404, (method, url)
    other = _task(charlie)
    response = charlie.client.get(f"/tasks/{other['id']}/meetings/{meeting['id']}/ics")
    assert response.status_code == 404 and response.json()["error_code"] == "meeting_not_found"
    assert Meeting.objects.get().status == "booked"


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_overlapping_bookings_let_exactly_one_through(alice):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite serialises with a lock")
    task = _task(alice)
    starts = [datetime(2026, 12, 1, 15, tzinfo=dt_timezone.utc) + timedelta(minutes=n % 20) for n in range(50)]
    responses = run_together(*[
        (lambda start=start: alice.client.post(f"/tasks/{task['id']}/meetings", {
            "start": start.isoformat(), "duration": 30, "force": True})) for start in starts])
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * 49
    assert {r.json()["error_code"] for r in responses if r.status_code == 409} == {"slot_unavailable"}
    assert Meeting.objects.filter(status="booked").count() == 1


def test_cancelling_a_pending_google_meeting_deletes_the_event_its_timed_out_insert_made(alice, google, settings):
    google.fail("/events", 503)  # as if the insert timed out after Google created the event
    task = _task(alice)
    assert _book(alice, task).status_code == 502
    meeting = Meeting.objects.get()
    google.google_event("alice@acme.test", meeting.google_event_id, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z")
    response = alice.client.post(f"/tasks/{task['id']}/meetings/{meeting.id}/cancel")
    assert response.status_code == 200 and response.json()["meeting"]["status"] == "cancelled"
    assert google.events_of(GOOGLE_EVENTS) == {}
    settings.TSKR_BOOKING_SWEEP_AFTER_SECONDS = 0
    assert tasks.meetings_finish_pending() == 0  # nothing left for the sweep


def test_graph_cancel_refused_for_an_appointment_deletes_it_instead(alice, graph):
    task = _task(alice)
    meeting = _book(alice, task).json()["meeting"]
    graph.fail("/cancel", 400, body={"error": {"code": "ErrorInvalidRequest", "message": "not a meeting"}})
    assert alice.client.post(f"/tasks/{task['id']}/meetings/{meeting['id']}/cancel").status_code == 200
    assert graph.count(f"/me/events/{meeting['providerEventId']}", "DELETE") == 1
    assert graph.events_of("microsoft:events:AAMk-default") == {}


def test_meet_needs_a_google_calendar_and_a_preferred_one_falls_back_to_none(alice, graph, identifier):  # noqa: F811
    task = _task(alice)
    response = _book(alice, task, conference="meet")
    assert response.status_code == 400 and response.json()["details"] == {"conference": ["meet needs a Google calendar"]}
    preferences_set(identifier=identifier, skill="scheduling", values={"defaults": {"virtual": {
        "conferenceSolution": "meet"}}})
    meeting = _book(alice, task).json()["meeting"]
    assert meeting["conference"] == "none" and meeting["calendarId"] is not None


def test_booking_rescheduling_and_cancelling_emit_their_webhook_events(alice, google):
    task = _task(alice)
    booked = _book(alice, task).json()["meeting"]
    moved = alice.client.put(f"/tasks/{task['id']}/meetings/{booked['id']}",
                             {"start": "2026-12-01T16:00:00Z", "end": "2026-12-01T16:30:00Z"}).json()["meeting"]
    cancelled = alice.client.post(f"/tasks/{task['id']}/meetings/{booked['id']}/cancel").json()["meeting"]

    def events(type):
        return [event.data for event in Event.objects.filter(type=type).order_by("created_at", "id")]

    assert events("meeting.booked") == [booked]
    [rescheduled] = events("meeting.rescheduled")
    assert rescheduled == {**moved, "previousAttributes": {"start": "2026-12-01T15:00:00+00:00",
                                                           "end": "2026-12-01T15:30:00+00:00"}}
    assert events("meeting.cancelled") == [cancelled] and cancelled["status"] == "cancelled"
