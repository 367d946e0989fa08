"""The assistant's scheduled actions: what plans each kind, and what firing it does.

- Task reminders: a `reminders` task with a `dueAt` reminds its owner then (an outbound message in the
  task's chat to the owner's handle there, `reminder.due`, an activity) and is completed.
- Meeting reminders: per the owner's `reminders` preferences, one `reminder.due` per enabled channel
  before each meeting TSKR booked and (level `all-events`) each busy synced event, for the coming
  REMINDER_HORIZON (48 hours); re-planned by bookings, reschedules, cancellations, preference changes,
  every sync and a periodic pass.
- Follow-ups: a `followups` task checks at its time whether the person wrote in the chat since; if not,
  the engine writes a short follow-up, sent through the supervision gate (`action_submit`), and
  `followup.due` fires; repeated every `followups.interval` minutes up to `followups.count` times,
  inside the owner's working hours, and stopped (the task completed) once the person writes.
  `followup_plan` is the same mechanism for the scheduling agent's nudges.

Planning goes through `schedule.action_plan` (idempotent by key); firing through the dispatcher, which
calls the kinds registered at the end of this module. Every side effect of a firing carries a key
derived from the action's, so a retried firing tells nobody twice.
"""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.events import event_emit, events_emit_many
from accounts.models import EventType, User
from calendars_app.models import CalendarEvent
from calendars_app.selectors import participants_load
from conversations.addressing import handle, handle_key
from conversations.engine import Deadline, FollowupContext, TranscriptEntry, agent_for, assistant_profile, \
    get_engine, user_profile
from conversations.engine.reminder_times import reminder_time
from conversations.models import Message
from directory.preferences import DAYS
from directory.selectors import user_preferences
from tskr.api.rows import iso_datetime

from . import services
from .approvals import action_submit
from .models import Activity, Meeting, ScheduledAction, Task
from .outbound import outbound_message_send
from .schedule import ActionKind, action_plan, actions_cancel, register_kind, utc_to_wall

Kind = ScheduledAction.Kind
#: A task's reminders and follow-ups fire only while it is open; a finished or held task's are cancelled.
OPEN = (Task.Status.PENDING, Task.Status.IN_PROGRESS)
#: The kinds of action a task's own due time plans.
TASK_KINDS = (Kind.TASK_REMINDER, Kind.FOLLOWUP)
#: How far ahead meeting reminders are planned; the periodic planner extends the window.
REMINDER_HORIZON = timedelta(hours=48)
CHANNELS = ("email", "slack", "teams")
#: The engine's budget for writing one follow-up (inside the dispatcher's claim lease).
FOLLOWUP_ENGINE_SECONDS = 25
REMINDER_LABEL = "Reminder: "


def zone_and_scheduling(task_or_user) -> tuple[ZoneInfo, dict | None]:
    user = task_or_user.owner if isinstance(task_or_user, Task) else task_or_user
    if user is None:
        return ZoneInfo("UTC"), None
    [context] = participants_load(account=user.account, references=[user.id])
    return context.zone, context.scheduling


# -- task reminders --------------------------------------------------------------------------------------

def task_reminder_plan(*, task: Task) -> ScheduledAction | None:
    """Keep a task's reminder in step with it: one at its `dueAt` while it is an open `reminders` task,
    none otherwise (a moved due time cancels the reminder for the old one). Called by every task write."""
    if task.type != "reminders" or task.due_at is None or task.status not in OPEN:
        actions_cancel(task_id=task.id, kind=Kind.TASK_REMINDER, reason="task no longer due")
        return None
    zone, _ = zone_and_scheduling(task)
    due = iso_datetime(task.due_at)
    key = f"{Kind.TASK_REMINDER}:{task.id}:{due}"
    action = action_plan(account_id=task.account_id, kind=Kind.TASK_REMINDER, key=key, due_at=task.due_at, zone=zone,
                         version=due, task_id=task.id, user_id=task.owner_id)
    actions_cancel(task_id=task.id, kind=Kind.TASK_REMINDER, keep_keys=[key], reason="due time moved")
    return action


def requested_due_at(*, text: str, owner: User | None, said_at: datetime) -> datetime | None:
    """The instant a reminder or follow-up request (`text`, said at `said_at`) names, in its owner's zone
    (`reminder_times`); a date alone is 09:00 there. None when it names none."""
    zone, _ = zone_and_scheduling(owner) if owner is not None else (ZoneInfo("UTC"), None)
    wall = reminder_time(text, now=said_at, zone=zone)
    return None if wall is None else wall.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _open_task(action: ScheduledAction) -> Task | None:
    return (Task.objects.select_for_update(of=("self",)).select_related("owner", "source_chat", "assistant")
            .filter(id=action.task_id, account_id=action.account_id, status__in=OPEN).first())


def _open_tasks(actions: list[ScheduledAction]) -> dict[str, Task | None]:
    """`_open_task` for a batch in one query, with what completing them needs (followers: their events)."""
    tasks = {task.id: task for task in Task.objects.select_for_update(of=("self",))
             .select_related("owner", "source_chat__assistant", "assistant").prefetch_related("followers")
             .filter(id__in=[action.task_id for action in actions], status__in=OPEN)}
    return {action.id: task if (task := tasks.get(action.task_id)) and task.account_id == action.account_id else None
            for action in actions}


def _task_reminder_version(action: ScheduledAction, task: Task) -> str:
    return iso_datetime(task.due_at) if task.type == "reminders" and task.due_at else ""


def owner_handle(task: Task) -> str:
    """The owner's handle on the chat's platform: the `from` of the message that asked for the task (theirs,
    as the task's owner is its sender or poster), else of their latest message there, else their email."""
    theirs = Message.objects.filter(chat_id=task.source_chat_id, role=Message.Role.USER).filter(
        Q(sender_id=task.owner_id) | Q(sender__isnull=True, posted_by_id=task.owner_id))
    source = (task.metadata or {}).get("sourceMessageId")
    sent = ((source and theirs.filter(id=source).values_list("metadata", flat=True).first())
            or theirs.order_by("-timestamp", "-id").values_list("metadata", flat=True).first() or {})
    return handle(sent["from"]) if sent.get("from") else task.owner.email


def _fire_task_reminder(action: ScheduledAction, task: Task, prepared) -> str:
    """The reminder to the owner in the task's chat, `reminder.due`, an activity, the task completed."""
    activity = _remind(action, task)
    if activity is not None:
        activity.save()
    event_emit(**_reminder_due(action, task))
    services.task_update(task=task, status=Task.Status.COMPLETED, actor_assistant=services.task_assistant(task))
    return ScheduledAction.Status.FIRED


def _fire_task_reminders(due: list[tuple[ScheduledAction, Task]]) -> None:
    """`_fire_task_reminder` for a dispatcher's batch: the activities, the events and the completions of the
    whole batch each written in one statement (the outbound messages of tasks with a chat one by one)."""
    activities = [activity for action, task in due if (activity := _remind(action, task)) is not None]
    Activity.objects.bulk_create(activities)
    events_emit_many([_reminder_due(action, task) for action, task in due])
    services.tasks_complete(tasks=[task for _, task in due])


def _remind(action: ScheduledAction, task: Task) -> Activity | None:
    """The reminder itself: the outbound message in the task's chat (which writes its own activity), else
    the activity saying it (returned unsaved)."""
    content = f"{REMINDER_LABEL}{task.title.removeprefix(REMINDER_LABEL)}"
    if task.source_chat_id and task.owner_id:
        outbound_message_send(task=task, content=content, to=[owner_handle(task)], key=f"{action.key}:message")
        return None
    return Activity(account_id=task.account_id, task=task, type=Activity.Type.MESSAGE, content=content,
                    actor_assistant=services.task_assistant(task),
                    metadata={"role": "assistant", "scheduledActionId": action.id})


def _reminder_due(action: ScheduledAction, task: Task) -> dict:
    """`reminder.due` of a task reminder (the keyword arguments of its `event_emit`, keyed by the action)."""
    return {"account_id": task.account_id, "type": EventType.REMINDER_DUE, "key": action.key, "data": {
        "taskId": task.id, "userId": task.owner_id, "dueAt": iso_datetime(task.due_at),
        "text": task.title.removeprefix(REMINDER_LABEL), "chatId": task.source_chat_id}}


# -- meeting reminders -----------------------------------------------------------------------------------

def _minutes_before(preferences: dict, channel: str, virtual: bool) -> int | None:
    """The channel's lead time for a virtual or in-person event, None when the channel is off."""
    settings = preferences.get(channel) or {}
    if not settings.get("enabled"):
        return None
    return settings["virtualMinutes" if virtual else "inPersonMinutes"]


def _meeting_virtual(meeting: Meeting) -> bool:
    return meeting.meeting_type == Meeting.Type.VIRTUAL or bool(meeting.meeting_link)


def _reminded_events(calendar_ids: list[str]):
    """Busy synced occurrences worth a reminder: timed, confirmed or tentative, not declined, and not written
    by a TSKR meeting (reminded as the meeting)."""
    booked = Meeting.objects.filter(calendar_id=OuterRef("calendar_id"), provider_event_id=OuterRef("provider_id"))
    return (CalendarEvent.objects.filter(calendar_id__in=calendar_ids, all_day=False,
                                         transparency=CalendarEvent.Transparency.OPAQUE)
            .exclude(status=CalendarEvent.Status.CANCELLED)
            .exclude(response_status=CalendarEvent.ResponseStatus.DECLINED)
            .exclude(Exists(booked)))


def _reminded_sources(*, user: User, level: str, calendar_ids: list[str], start: datetime, end: datetime):
    """(kind, meeting or event, its start, virtual?) of what the reminders `level` covers in [start, end]."""
    if level == "none":
        return
    for meeting in Meeting.objects.filter(account_id=user.account_id, owner_id=user.id, status=Meeting.Status.BOOKED,
                                          start_at__gt=start, start_at__lte=end):
        yield Kind.MEETING_REMINDER, meeting, meeting.start_at, _meeting_virtual(meeting)
    if level == "all-events":
        for event in _reminded_events(calendar_ids).filter(start__gt=start, start__lte=end):
            yield Kind.EVENT_REMINDER, event, event.start, event.has_conference


def meeting_reminders_plan(*, account_id: str, user_id: str, now: datetime | None = None) -> list[ScheduledAction]:
    """Plan `user_id`'s meeting reminders for the coming REMINDER_HORIZON from their `reminders` preferences,
    and cancel the ones no longer wanted (a meeting moved or cancelled, an event declined or gone, a
    channel switched off). A reminder whose time has already passed is not planned: it would arrive right
    after the booking instead of before the meeting."""
    now = now or timezone.now()
    user = User.objects.select_related("account").filter(account_id=account_id, id=user_id).first()
    planned: list[ScheduledAction] = []
    if user is not None:
        preferences = user_preferences(user=user, skill="reminders")
        [context] = participants_load(account=user.account, references=[user.id])
        for kind, source, start, virtual in _reminded_sources(user=user, level=preferences["level"],
                                                              calendar_ids=context.calendar_ids, start=now,
                                                              end=now + REMINDER_HORIZON):
            planned += _plan_channels(user, context.zone, preferences, now, source=source, kind=kind, start=start,
                                      virtual=virtual)
    actions_cancel(user_id=user_id, kind__in=[Kind.MEETING_REMINDER, Kind.EVENT_REMINDER],
                   keep_keys=[action.key for action in planned], reason="no longer wanted")
    return planned


def meeting_reminders_plan_one(*, meeting: Meeting, now: datetime | None = None) -> list[ScheduledAction]:
    """Plan the reminders of one meeting TSKR just booked or moved (and cancel its reminders for an old
    start). Booking re-plans only this meeting: the owner's other reminders are kept in step by the sync
    and the periodic planner, and re-planning all of them made every booking pay for the whole calendar."""
    now = now or timezone.now()
    planned: list[ScheduledAction] = []
    user = meeting.owner
    if (user is not None and meeting.status == Meeting.Status.BOOKED
            and now < meeting.start_at <= now + REMINDER_HORIZON):
        preferences = user_preferences(user=user, skill="reminders")
        if preferences["level"] != "none":
            zone, _ = zone_and_scheduling(user)
            planned = _plan_channels(user, zone, preferences, now, source=meeting, kind=Kind.MEETING_REMINDER,
                                     start=meeting.start_at, virtual=_meeting_virtual(meeting))
    actions_cancel(meeting_id=meeting.id, kind=Kind.MEETING_REMINDER, keep_keys=[action.key for action in planned],
                   reason="no longer wanted")
    return planned


def _plan_channels(user: User, zone: ZoneInfo, preferences: dict, now: datetime, *, source, kind: str, start: datetime,
                   virtual: bool) -> list[ScheduledAction]:
    planned = []
    for channel in CHANNELS:
        minutes = _minutes_before(preferences, channel, virtual)
        if minutes is None or start - timedelta(minutes=minutes) <= now:
            continue
        target = {"meeting_id": source.id} if kind == Kind.MEETING_REMINDER else {"event_id": source.id}
        planned.append(action_plan(
            account_id=user.account_id, kind=kind, key=f"{kind}:{source.id}:{user.id}:{channel}:{iso_datetime(start)}",
            due_at=start - timedelta(minutes=minutes), zone=zone, version=f"{iso_datetime(start)}|{minutes}",
            user_id=user.id, payload={"channel": channel, "minutesBefore": minutes}, **target))
    return planned


def meeting_reminders_replan(*, identifier, skill: str) -> None:
    """`directory.hooks.preferences_changed`: new reminders preferences (or scheduling ones: the calendars
    read, hence the events reminded) re-plan the user's meeting reminders at once."""
    if skill in ("reminders", "scheduling") and identifier.user_id:
        meeting_reminders_plan(account_id=identifier.account_id, user_id=identifier.user_id)


def meeting_reminders_plan_all(*, now: datetime | None = None) -> int:
    """The periodic planner: every user with a booked meeting or a linked calendar, their window moved on.
    Returns how many users were planned."""
    from calendars_app.models import UserCalendar

    now = now or timezone.now()
    owners = set(Meeting.objects.filter(status=Meeting.Status.BOOKED, start_at__gt=now,
                                        start_at__lte=now + REMINDER_HORIZON).values_list("account_id", "owner_id"))
    owners |= set(UserCalendar.objects.filter(user__isnull=False).values_list("account_id", "user_id"))
    for account_id, user_id in owners:
        if user_id:
            meeting_reminders_plan(account_id=account_id, user_id=user_id, now=now)
    return len(owners)


def _reminder_target(action: ScheduledAction):
    """(the meeting or event, the channel's lead time now) while the reminder is still wanted, else None."""
    user = User.objects.select_related("account").filter(id=action.user_id, account_id=action.account_id).first()
    if user is None:
        return None
    preferences = user_preferences(user=user, skill="reminders")
    if action.kind == Kind.MEETING_REMINDER:
        source = Meeting.objects.filter(id=action.meeting_id, account_id=action.account_id,
                                        status=Meeting.Status.BOOKED).first()
        wanted = preferences["level"] != "none"
        virtual = source is not None and _meeting_virtual(source)
    else:
        [context] = participants_load(account=user.account, references=[user.id])
        source = _reminded_events(context.calendar_ids).filter(id=action.event_id).first()
        wanted = preferences["level"] == "all-events"
        virtual = source is not None and source.has_conference
    minutes = _minutes_before(preferences, action.payload["channel"], virtual) if source is not None else None
    return (source, minutes) if wanted and minutes is not None else None


def _reminder_version(action: ScheduledAction, target) -> str:
    source, minutes = target
    start = source.start_at if isinstance(source, Meeting) else source.start
    return f"{iso_datetime(start)}|{minutes}"


def _fire_meeting_reminder(action: ScheduledAction, target, prepared) -> str:
    source, minutes = target
    if isinstance(source, Meeting):
        name, shown = "meeting", {"id": source.id, "title": source.title, "start": iso_datetime(source.start_at),
                                  "end": iso_datetime(source.end_at), "location": source.location,
                                  "conferenceLink": source.meeting_link or None}
    else:
        name, shown = "event", {"id": source.id, "title": source.title, "start": iso_datetime(source.start),
                                "end": iso_datetime(source.end), "location": "", "conferenceLink": None}
    event_emit(account_id=action.account_id, type=EventType.REMINDER_DUE, key=action.key, data={
        "channel": action.payload["channel"], "userId": action.user_id, name: shown, "minutesBefore": minutes})
    return ScheduledAction.Status.FIRED


# -- follow-ups ------------------------------------------------------------------------------------------

def working_time(wall: datetime, scheduling: dict | None) -> datetime:
    """`wall` if it falls inside the owner's working hours, else the start of their next working range
    (skipping days off and working holidays). A week with no working hours at all leaves it as it is."""
    if not scheduling:
        return wall
    availability = scheduling["availability"]
    hours, holidays = availability["workingHours"], set(availability.get("workingHolidays") or [])
    for offset in range(0, 15):
        day = (wall + timedelta(days=offset)).date()
        if day.isoformat() in holidays:
            continue
        for span in sorted(hours.get(DAYS[day.weekday()]) or [], key=lambda span: span["start"]):
            start = datetime.combine(day, datetime.strptime(span["start"], "%H:%M").time())
            end = datetime.combine(day, datetime.strptime(span["end"], "%H:%M").time())
            if offset == 0 and start <= wall < end:
                return wall
            if start >= wall:
                return start
    return wall


def followup_plan(*, task: Task, person: str, due_at: datetime, since: datetime | None = None,
                  attempt: int = 1) -> ScheduledAction | None:
    """Plan follow-up number `attempt` with `person` (a handle in the task's chat) at `due_at`, moved into
    the owner's working hours; it fires only if `person` has not written in the chat since `since`
    (default: the task's creation). None when the owner's follow-ups are off or `attempt` is past their
    count. The scheduling agent calls this to nudge an outside participant who has not answered its
    proposed times (`since`: when the proposal went out)."""
    preferences = user_preferences(user=task.owner, skill="followups") if task.owner_id else {"enabled": False}
    if not preferences["enabled"] or attempt > preferences["count"]:
        return None
    zone, scheduling = zone_and_scheduling(task)
    wall = working_time(utc_to_wall(due_at, zone), scheduling)
    return action_plan(
        account_id=task.account_id, kind=Kind.FOLLOWUP, key=f"{Kind.FOLLOWUP}:{task.id}:{handle_key(person)}:{attempt}",
        wall_time=wall, zone=zone, version=_followup_version_of(task, attempt), task_id=task.id, user_id=task.owner_id,
        payload={"person": person, "attempt": attempt, "since": iso_datetime(since or task.created_at)})


def task_followup_plan(*, task: Task) -> ScheduledAction | None:
    """A `followups` task's first check at its `dueAt`, with the person named in `metadata.followupWith`;
    re-planned when the due time moves, cancelled when the task is finished."""
    person = (task.metadata or {}).get("followupWith")
    if task.type != "followups" or task.due_at is None or task.status not in OPEN or not person:
        actions_cancel(task_id=task.id, kind=Kind.FOLLOWUP, reason="task no longer due")
        return None
    if ScheduledAction.objects.filter(task_id=task.id, kind=Kind.FOLLOWUP, status__in=(
            ScheduledAction.Status.FIRED, ScheduledAction.Status.FAILED)).exists():
        return None  # the first check is past: the repeats follow their interval, whatever the task's edits
    action = followup_plan(task=task, person=person, due_at=task.due_at)
    actions_cancel(task_id=task.id, kind=Kind.FOLLOWUP, keep_keys=[action.key] if action else [],
                   reason="due time moved")
    return action


def followup_person(*, chat_id: str | None, text: str, owner: User | None, exclude: tuple[str, ...] = ()) -> str | None:
    """Whom a follow-up request is about: the handle of a human in the chat (a sender or recipient other
    than the owner and the assistant) whose name or address appears in `text`, else the only such human."""
    if not chat_id:
        return None
    mine = {handle_key(value) for value in (*exclude, owner.email if owner else "") if value}
    people: dict[str, str] = {}
    rows = list(Message.objects.filter(chat_id=chat_id).values_list("sender_id", "metadata"))
    # the owner's own handles (the `from` of what they sent) are never the person, wherever they appear:
    # a chat's `participants` list the sender too
    mine |= {handle_key(handle(metadata["from"])) for sender_id, metadata in rows
             if owner is not None and sender_id == owner.id and metadata.get("from")}
    for sender_id, metadata in rows:
        from_owner = owner is not None and sender_id == owner.id
        for key in ("from", "to", "cc", "participants"):
            values = metadata.get(key) or []
            for value in values if isinstance(values, list) else [values]:
                spelled = handle(value)
                if spelled and handle_key(spelled) not in mine and not (key == "from" and from_owner):
                    people.setdefault(handle_key(spelled), spelled)
    words = {word.lower() for word in re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text)}
    named = [spelled for key, spelled in people.items() if key.split("@")[0].split(".")[0] in words
             or key in text.lower()]
    if named:
        return named[0]
    return next(iter(people.values())) if len(people) == 1 else None


def _has_written(task: Task, person: str, since: datetime) -> bool:
    """Whether `person` wrote in the task's chat after `since`."""
    wanted = handle_key(person)
    for metadata in (Message.objects.filter(chat_id=task.source_chat_id, role=Message.Role.USER, timestamp__gt=since)
                     .values_list("metadata", flat=True)):
        if metadata.get("from") and handle_key(handle(metadata["from"])) == wanted:
            return True
    return False


def followups_stop_on_reply(*, message: Message) -> int:
    """`conversations.hooks.message_received`: the follow-ups of this chat waiting for the message's author
    stop, their tasks completed. One query for a message nobody waits for. Returns how many tasks completed."""
    author = handle_key(handle(message.metadata["from"])) if message.metadata.get("from") else None
    if author is None:
        return 0
    waiting = (ScheduledAction.objects.filter(kind=Kind.FOLLOWUP, status=ScheduledAction.Status.SCHEDULED,
                                              task_id__in=Task.objects.filter(source_chat_id=message.chat_id)
                                              .values("id"))
               .values_list("task_id", "payload"))
    task_ids = {task_id for task_id, payload in waiting if handle_key(payload["person"]) == author}
    for task in Task.objects.select_related("owner", "source_chat", "assistant").filter(id__in=task_ids,
                                                                                        status__in=OPEN):
        _followups_stop(task, person=handle(message.metadata["from"]))
    return len(task_ids)


def _followups_stop(task: Task, *, person: str) -> None:
    assistant = services.task_assistant(task)
    services.activity_add(task, Activity.Type.MESSAGE, f"{person} replied: no more follow-ups",
                       actor_assistant=assistant, metadata={"role": "assistant"})
    services.task_update(task=task, status=Task.Status.COMPLETED, actor_assistant=assistant)


def _followup_target(action: ScheduledAction):
    task = _open_task(action)
    if task is None or task.owner is None:
        return None
    preferences = user_preferences(user=task.owner, skill="followups")
    return (task, preferences) if preferences["enabled"] and action.payload["attempt"] <= preferences["count"] else None


def _followup_version_of(task: Task, attempt: int) -> str:
    """The first check is planned from the task's due time (moving it re-plans); the repeats from the
    previous follow-up, whatever the task's due time does meanwhile."""
    return (iso_datetime(task.due_at) or "") if attempt == 1 else "repeat"


def _followup_version(action: ScheduledAction, target) -> str:
    task, _ = target
    return _followup_version_of(task, action.payload["attempt"])


def _write_followup(action: ScheduledAction) -> str | None:
    """The engine's short follow-up, written before the fire's transaction (None when the person has
    written already: nothing to write)."""
    task = Task.objects.select_related("owner", "assistant", "source_chat__assistant").filter(
        id=action.task_id, account_id=action.account_id).first()
    if task is None or task.owner is None:
        return None
    person, since = action.payload["person"], datetime.fromisoformat(action.payload["since"])
    if _has_written(task, person, since):
        return None
    thread = tuple(TranscriptEntry(role=role, content=content, author=(metadata or {}).get("from", ""),
                                   timestamp=timestamp)
                   for role, content, metadata, timestamp in reversed(list(
                       Message.objects.filter(chat_id=task.source_chat_id).order_by("-timestamp", "-id")
                       .values_list("role", "content", "metadata", "timestamp")[:20])))
    assistant = services.task_assistant(task)
    context = FollowupContext(assistant=assistant_profile(assistant), agent=agent_for(assistant),
                              # the follow-up is read by someone else: none of the owner's private memories
                              user=user_profile(task.owner, reader_id=None), person=person, title=task.title,
                              description=task.description, thread=thread, attempt=action.payload["attempt"],
                              now=timezone.now())
    return get_engine().write_followup(context, deadline=Deadline(FOLLOWUP_ENGINE_SECONDS)).reply


def _fire_followup(action: ScheduledAction, target, content: str | None) -> str:
    """Stop (the task completed) if the person wrote; otherwise the follow-up through the supervision gate,
    `followup.due`, an activity, and the next attempt planned."""
    task, preferences = target
    person, attempt = action.payload["person"], action.payload["attempt"]
    if content is None or _has_written(task, person, datetime.fromisoformat(action.payload["since"])):
        _followups_stop(task, person=person)  # a reply the message hook did not see (written behind the API)
        action.last_error = "the person replied"
        return ScheduledAction.Status.CANCELLED
    assistant = services.task_assistant(task)
    outcome = action_submit(task=task, kind="send_message", key=action.key, payload={
        "content": content, "to": [person], "cc": [], "subject": None, "inReplyTo": None})
    event_emit(account_id=task.account_id, type=EventType.FOLLOWUP_DUE, key=action.key, data={
        "taskId": task.id, "userId": task.owner_id, "person": person, "attempt": attempt,
        "chatId": task.source_chat_id, "messageId": outcome.result.id if outcome.result is not None else None,
        "approvalId": outcome.approval.id if outcome.approval is not None else None})
    held = " (waiting for the owner's approval)" if outcome.approval is not None else ""
    services.activity_add(task, Activity.Type.MESSAGE, f"Follow-up {attempt} to {person}{held}",
                       actor_assistant=assistant, metadata={"role": "assistant", "scheduledActionId": action.id})
    followup_plan(task=task, person=person, due_at=action.fired_at + timedelta(minutes=preferences["interval"]),
                  since=datetime.fromisoformat(action.payload["since"]), attempt=attempt + 1)
    return ScheduledAction.Status.FIRED


register_kind(Kind.TASK_REMINDER, ActionKind(load=_open_task, version=_task_reminder_version,
                                             fire=_fire_task_reminder, load_many=_open_tasks,
                                             fire_many=_fire_task_reminders))
register_kind(Kind.MEETING_REMINDER, ActionKind(load=_reminder_target, version=_reminder_version,
                                                fire=_fire_meeting_reminder))
register_kind(Kind.EVENT_REMINDER, ActionKind(load=_reminder_target, version=_reminder_version,
                                              fire=_fire_meeting_reminder))
register_kind(Kind.FOLLOWUP, ActionKind(load=_followup_target, version=_followup_version, fire=_fire_followup,
                                        prepare=_write_followup))
