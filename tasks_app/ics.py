"""A meeting as an RFC 5545 invitation (`GET /tasks/:id/meetings/:id/ics`), built with the maintained
`icalendar` library: how the integrator invites attendees when TSKR booked the meeting without a
provider calendar, and a portable copy otherwise.

The UID is the meeting's id (stable across reschedules) and SEQUENCE its revision, so calendar clients
update the invitation they already have; a cancelled meeting is sent as METHOD:CANCEL.
"""
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from .models import Meeting

PRODID = "-//TSKR//Meetings//EN"
UID_DOMAIN = "tskr"


def _address(email: str, name: str = "", **params) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def meeting_ics(meeting: Meeting) -> bytes:
    cancelled = meeting.status == Meeting.Status.CANCELLED
    zone = ZoneInfo(meeting.timezone or "UTC")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"{meeting.id}@{UID_DOMAIN}")
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", meeting.updated_at)
    event.add("dtstart", meeting.start_at.astimezone(zone))
    event.add("dtend", meeting.end_at.astimezone(zone))
    event.add("summary", meeting.title)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if meeting.location:
        event.add("location", meeting.location)
    if meeting.meeting_link:
        event.add("url", meeting.meeting_link)
        event.add("description", f"Join: {meeting.meeting_link}")
    if meeting.owner is not None:
        event.add("organizer", _address(meeting.owner.email, meeting.owner.full_name))
    for person in meeting.attendees:
        event.add("attendee", _address(person["email"], person.get("name") or "", ROLE="REQ-PARTICIPANT",
                                       PARTSTAT="NEEDS-ACTION", RSVP="TRUE"))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
