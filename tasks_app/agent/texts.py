"""What the agent says: proposals, confirmations and questions, written by the server from validated
data, so a message can never name a time other than the one offered or booked.

Times are written in the zone the plan names (the recipient's when known, else the owner's), and the
zone is named. Email gets a greeting and the assistant's signature; chat platforms get the body alone.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from accounts.models import Assistant

from .plan import Plan


def when(start: datetime, zone: ZoneInfo) -> str:
    """"Wednesday, December 2 at 2:30 PM" in `zone`."""
    local = start.astimezone(zone)
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%A}, {local:%B} {local.day} at {clock}"


def zone_label(zone: ZoneInfo, moment: datetime) -> str:
    """"America/New_York (EST)", or the name alone when the abbreviation is only an offset."""
    abbreviation = moment.astimezone(zone).tzname() or ""
    return f"{zone.key} ({abbreviation})" if abbreviation and abbreviation[0].isalpha() else zone.key


def slot_lines(slots: list[dict], zone: ZoneInfo) -> str:
    return "\n".join(f"{slot['number']}. {when(datetime.fromisoformat(slot['start']), zone)}" for slot in slots)


def wrap(body: str, *, platform: str, assistant: Assistant | None, to_name: str = "") -> str:
    """The body in the platform's register: email with a greeting and a signature; elsewhere short."""
    if platform != "email":
        return body
    greeting = f"Hi {to_name}," if to_name else "Hello,"
    signature = (assistant.signature or assistant.name) if assistant is not None else ""
    return "\n\n".join(part for part in (greeting, body, signature) if part)


def proposal(*, plan: Plan, slots: list[dict], owner_name: str, lead: str = "") -> str:
    """Proposed slots, numbered, in the plan's zone, naming it."""
    zone = plan.zone
    kind = "meeting in person" if plan.meeting_type == "inPerson" else "call"
    opening = lead or f"{owner_name} would like to set up a {plan.duration}-minute {kind}."
    label = zone_label(zone, datetime.fromisoformat(slots[0]["start"]))
    return (f"{opening} Would one of these times work for you?\n\n{slot_lines(slots, zone)}\n\n"
            f"Times are in {label}. Reply with the one that suits you, or suggest another time.")


def confirmation(*, plan: Plan, start: datetime, title: str) -> str:
    zone = plan.zone
    return (f"You're all set: \"{title}\" is booked for {when(start, zone)} ({zone_label(zone, start)}), "
            f"{plan.duration} minutes. A calendar invitation follows.")


def busy(*, plan: Plan, start: datetime) -> str:
    return f"{when(start, plan.zone)} doesn't work for everyone, unfortunately."


def widen_question(*, plan: Plan) -> str:
    zone = plan.zone
    return (f"I couldn't find a time when everyone is free between {when(plan.window_start, zone)} and "
            f"{when(plan.window_end, zone)} ({zone.key}). Shall I look further out, or is there a day that "
            f"would work?")


def booking_failed(*, plan: Plan, start: datetime, reason: str) -> str:
    return (f"I couldn't book {when(start, plan.zone)} ({plan.zone.key}) on your calendar: {reason}. "
            f"Could you check your calendar connection, then tell me when to try again?")


def dated_confirmation(*, skill: str, local: datetime) -> str:
    """The owner's answer gave a reminder or a follow-up its time: say when, in the owner's zone."""
    moment = f"{when(local, local.tzinfo)} ({zone_label(local.tzinfo, local)})"
    return f"Done: I'll remind you on {moment}." if skill == "reminders" else f"Done: I'll follow up on {moment}."


def called_off(*, skill: str, title: str, meeting_cancelled: bool = False) -> str:
    """The owner called a task off: say what stopped."""
    if skill == "reminders":
        return f"Okay, I won't send that reminder (\"{title}\")."
    if skill == "followups":
        return f"Okay, I've stopped following up (\"{title}\")."
    if meeting_cancelled:
        return f"Okay, I've called off \"{title}\" and cancelled the meeting; everyone is told."
    return f"Okay, I've called off \"{title}\"."


def brief_updated(*, title: str, dates: str) -> str:
    """The owner gave a trip's dates: repeat them so a misreading shows at once."""
    return f"Thanks, I've added your dates to \"{title}\": {dates.strip().rstrip('.')}."


def move_lead(*, start: datetime | None, zone: ZoneInfo) -> str:
    """The opening of a proposal for a meeting that moves."""
    if start is None:
        return "The meeting needs a new time."
    return f"The meeting planned for {when(start, zone)} needs a new time."


def _moment(start: datetime, zone: ZoneInfo) -> str:
    return f"{when(start, zone)} ({zone_label(zone, start)})"


def moved(*, plan: Plan, start: datetime, title: str, minutes: int) -> str:
    return (f"\"{title}\" has moved to {_moment(start, plan.zone)}, {minutes} minutes. "
            f"The calendar invitation is updated.")


def meeting_cancelled(*, plan: Plan, start: datetime, title: str) -> str:
    return f"\"{title}\" on {_moment(start, plan.zone)} is cancelled. The calendar invitation is withdrawn."


def change_failed(*, what: str, reason: str) -> str:
    return f"I couldn't {what} on your calendar: {reason}. Could you check your calendar connection?"
