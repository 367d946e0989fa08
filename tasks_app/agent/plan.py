"""What a scheduling task needs before it can propose anything: who meets, for how long, how, and
when: read from the request (the task's source message and description) and the owner's preferences.

The plan is stored on the task (`metadata.scheduling`) the first time a step runs, so later steps
(a reply, a retry) work from the same participants and window.
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from calendars_app.selectors import ParticipantContext, participants_load, zone_or_none
from conversations.addressing import analyse, handle_key, handles
from conversations.engine.scheduling import read_duration, read_meeting_type, read_when, read_window
from conversations.models import Message

from ..models import Task
from .reads import handles_read

_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: The default window: this many working days (days the owner has working hours) after the notice.
WINDOW_WORKING_DAYS = 5


@dataclass
class Plan:
    """A scheduling task's participants, meeting shape and window (`metadata.scheduling` on the task)."""

    #: Internal participants: user ids of the account, the owner first.
    internal: list[str]
    #: Internal participants' emails, in the same order (the outbound messages' cc, the attendees).
    internal_emails: list[str]
    #: Outside participants' handles, as sent (emails lower-cased).
    outside: list[str]
    duration: int
    meeting_type: str
    window_start: datetime
    window_end: datetime
    #: The zone slots are written in and replies are read in: the first recipient's, else the owner's.
    timezone: str
    #: A precise time the request named, to check and book (None: propose slots).
    fixed_start: datetime | None = None
    #: The platform of the request (the register the agent writes in).
    platform: str = "email"

    @property
    def to(self) -> list[str]:
        """Who the proposals go to: the outside participants; without any, the other internal ones;
        without those, the owner."""
        return self.outside or self.internal_emails[1:] or self.internal_emails[:1]

    @property
    def cc(self) -> list[str]:
        return [email for email in self.internal_emails if email not in self.to]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def stored(self) -> dict:
        return {"internal": self.internal, "internalEmails": self.internal_emails, "outside": self.outside,
                "duration": self.duration, "meetingType": self.meeting_type,
                "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
                "timezone": self.timezone, "fixedStart": self.fixed_start.isoformat() if self.fixed_start else None,
                "platform": self.platform}

    @classmethod
    def from_stored(cls, data: dict) -> "Plan":
        fixed = data.get("fixedStart")
        return cls(internal=data["internal"], internal_emails=data["internalEmails"], outside=data["outside"],
                   duration=data["duration"], meeting_type=data["meetingType"],
                   window_start=datetime.fromisoformat(data["window"]["start"]),
                   window_end=datetime.fromisoformat(data["window"]["end"]), timezone=data["timezone"],
                   fixed_start=datetime.fromisoformat(fixed) if fixed else None,
                   platform=data.get("platform") or "email")


def source_message(task: Task) -> Message | None:
    """The inbound message the task was created from (chat processing records it in the metadata)."""
    message_id = (task.metadata or {}).get("sourceMessageId")
    if not message_id or task.source_chat_id is None:
        return None
    return (Message.objects.filter(account_id=task.account_id, chat_id=task.source_chat_id, id=message_id)
            .select_related("sender", "chat__assistant").first())


def _people(task: Task, message: Message | None) -> tuple[list[ParticipantContext], list[str], dict[str, str]]:
    """The users of the account among the message's sender, to, cc, participants, mentions and the
    addresses written in its text (the owner first, then in the message's order), loaded as participants
    (preferences, zone, calendars); the other handles (outside participants); the zones of the owner's
    contacts among the handles (by handle key).

    Two queries: `handles_read` (which also reads the owner's identifiers, kept on the owner's context
    for supervision), then `participants_load` for every candidate at once, the owner by id, the rest
    by email or identifier (`skip_unknown`: a handle naming no user is outside)."""
    found: list[str] = []
    assistant_keys: set[str] = set()
    if message is not None:
        assistant = message.chat.assistant
        if assistant is not None:
            assistant_keys = {handle_key(assistant.email), handle_key(assistant.name)}
        addressing = analyse(message, assistant_email=assistant.email if assistant else "",
                             assistant_name=assistant.name if assistant else "")
        metadata = message.metadata or {}
        found = ([addressing.sender] if addressing.sender else []) + list(addressing.others)
        found += handles(metadata.get("mentions")) + _EMAIL_IN_TEXT.findall(message.content)
    keys = {}
    for value in found:
        if value and handle_key(value) not in assistant_keys:
            keys.setdefault(handle_key(value), value)
    by_identifier, contact_zones, owner_identifiers = handles_read(task=task, keys=list(keys))
    references = [task.owner_id] + [by_identifier.get(key) or key for key in keys
                                    if key in by_identifier or "@" in key]
    contexts = participants_load(account=task.account, references=references, skip_unknown=True)
    if contexts and contexts[0].user.id == task.owner_id:
        contexts[0].identifiers = owner_identifiers
    users = {context.user.id for context in contexts}
    emails = {handle_key(context.user.email) for context in contexts}
    outside = [value for key, value in keys.items() if key not in emails and by_identifier.get(key) not in users]
    return contexts, outside, contact_zones


def recipient_zone(*, owner: ParticipantContext, recipient: str, contexts: list[ParticipantContext],
                   contact_zones: dict[str, str]) -> ZoneInfo:
    """The zone to write times in for `recipient`: an internal participant's own; an outside one's from
    the owner's contact with that address (`timezone`, in `contact_zones` by handle key); else the owner's."""
    key = handle_key(recipient)
    for context in contexts:
        if handle_key(context.user.email) == key:
            return context.zone
    return zone_or_none(contact_zones.get(key)) or owner.zone


def default_window(owner: ParticipantContext, *, now: datetime) -> tuple[datetime, datetime]:
    """From now plus the minimum notice to the end of the WINDOW_WORKING_DAYS-th day with working hours
    (days off skipped), in the owner's zone."""
    start = now + timedelta(minutes=settings.TSKR_AGENT_MINIMUM_NOTICE_MINUTES)
    hours = owner.scheduling["availability"]["workingHours"]
    holidays = set(owner.scheduling["availability"]["workingHolidays"])
    day: date = start.astimezone(owner.zone).date()
    counted = 0
    for _ in range(60):
        if hours.get(("MO", "TU", "WE", "TH", "FR", "SA", "SU")[day.weekday()]) and day.isoformat() not in holidays:
            counted += 1
            if counted == WINDOW_WORKING_DAYS:
                break
        day += timedelta(days=1)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=owner.zone)


def plan_build(task: Task, *, text: str | None = None, source: Message | None = None,
               ) -> tuple[Plan, list[ParticipantContext]]:
    """The plan of a task that has none yet, from its source message (`source`, else loaded) and
    description (or `text`, an answer to a clarification, read first), and the participants' contexts."""
    message = source or source_message(task)
    contexts, outside, contact_zones = _people(task, message)
    owner = contexts[0]
    now = message.timestamp if message is not None else timezone.now()
    request = "\n".join(part for part in (text, task.description, task.title) if part)
    meeting_type = read_meeting_type(request) or "virtual"
    duration = read_duration(request) or owner.scheduling["defaults"][meeting_type]["duration"]
    recipients = outside or [context.user.email for context in contexts[1:]] or [owner.user.email]
    zone = recipient_zone(owner=owner, recipient=recipients[0], contexts=contexts, contact_zones=contact_zones)
    window = read_window(request, zone=owner.zone, now=now)
    start, end = default_window(owner, now=timezone.now())
    if window is not None:
        start, end = max(window[0], start), max(window[1], start)
    when = read_when(request, zone=owner.zone, now=now)
    fixed = when.at(owner.zone) if when.instant else None
    requested = (task.metadata or {}).get("requestedStart")
    if requested:
        fixed = datetime.fromisoformat(requested)
    plan = Plan(internal=[context.user.id for context in contexts],
                internal_emails=[context.user.email for context in contexts], outside=outside,
                duration=duration, meeting_type=meeting_type, window_start=start, window_end=end,
                timezone=zone.key, fixed_start=fixed,
                platform=message.platform if message is not None else Message.Platform.EMAIL)
    return plan, contexts
