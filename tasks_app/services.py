"""Writes for tasks. `task_create` is shared: the API, chat processing and templates all create through it.

Every change a person or an assistant makes to a task leaves an Activity saying who did what, written
in the same transaction as the change, so the history can never disagree with the task.
"""
import contextlib
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.events import changed_attributes, event_emit, events_emit_many
from accounts.models import Account, Assistant, EventType, User
from admin_catalog.models import TaskTemplate
from admin_catalog.services import TITLE_MAX_LENGTH, render_template_text, template_step_parts
from admin_catalog.task_vocabulary import TASK_TYPE_PATTERN, TASK_TYPE_RULE
from calendars_app.providers.records import EventWrite
from calendars_app.selectors import booking_conflicts, participants_load
from calendars_app.services.booking import (
    CalendarProviderError, calendar_event_cancel, calendar_event_insert, calendar_event_patch, write_target_for_calendar,
    write_target_get,
)
from conversations.engine import (
    Deadline,
    TaskContext,
    TranscriptEntry,
    agent_for,
    assistant_profile,
    get_engine,
    user_profile,
)
from conversations.models import EngineCall, Message
from conversations.usage import EngineCallRecorder
from tskr.exceptions import ApplicationError, BadRequest, Conflict, NotFound, ValidationFailed
from tskr.infra.locks import hold_lock, try_acquire
from tskr.infra.sql import insert, update
from tskr.services import model_update

from . import reminders
from .models import TRANSITIONS, Activity, Meeting, Task
from .schedule import actions_cancel

#: The contract's processing lock: 30 seconds; the engine's budget fits inside it, and it is
#: extended before the result is written.
PROCESS_LOCK_TTL_MS = 30_000


def task_lock_name(task_id: str) -> str:
    """One lock per task, shared by processing and deletion."""
    return f"task:{task_id}"


def task_processing_conflict() -> Conflict:
    return Conflict("Task is already being processed", error_code="task_processing")


def task_validate_type(task_type: str) -> None:
    if not TASK_TYPE_PATTERN.match(task_type or ""):
        raise ValidationFailed(f"type {TASK_TYPE_RULE}", details={"type": [f"Type {TASK_TYPE_RULE}"]})


def _validate_status(status: str) -> None:
    if status not in Task.Status.values:
        allowed = ", ".join(Task.Status.values)
        raise ValidationFailed(f"status must be one of: {allowed}", details={"status": [f"Must be one of: {allowed}"]})


def task_ensure_transition(*, task: Task, status: str) -> None:
    """Refuse a status change the lifecycle does not allow, naming the statuses that are allowed."""
    if status == task.status or status in TRANSITIONS[task.status]:
        return
    allowed = task.allowed_transitions
    raise ApplicationError(
        f"Cannot change status from {task.status} to {status}; allowed: {', '.join(allowed)}",
        error_code="invalid_transition", status_code=409, details={"status": allowed},
    )


def activity_add(task: Task, type: str, content: str, *, actor_user: User | None = None,
                 actor_assistant: Assistant | None = None, **extra) -> Activity:
    """One entry of the task's history (call inside the transaction of the change it records): one
    INSERT written by hand (`tskr.infra.sql` says why; every change of a task writes one)."""
    activity = Activity(account_id=task.account_id, task=task, type=type, content=content, actor_user=actor_user,
                        actor_assistant=actor_assistant, **extra)
    insert(activity)
    return activity


def task_data(task: Task) -> dict:
    """The task as the API answers it: the `data` of its webhook events."""
    from .api.serializers import task_item  # the serializers import this module

    return task_item(task)


def _task_changes(task: Task, before: dict) -> list[dict]:
    """`task.updated` with the changed fields' old values, and `task.status_changed` when the status moved:
    the keyword arguments of their `event_emit`."""
    after = task_data(task)
    changed = changed_attributes(before, after)
    events = []
    if changed:
        events.append({"account_id": task.account_id, "type": EventType.TASK_UPDATED, "data": after,
                       "previous_attributes": changed})
    if "status" in changed:
        events.append({"account_id": task.account_id, "type": EventType.TASK_STATUS_CHANGED, "data": after,
                       "previous_attributes": {"status": changed["status"]}})
    return events


def _emit_task_changes(task: Task, before: dict, *, first: list[dict] = ()) -> None:
    events = [*first, *_task_changes(task, before)]
    if events:
        events_emit_many(events)  # one INSERT for all


def task_create(*, account: Account, title: str, actor_user: User | None = None,
                actor_assistant: Assistant | None = None, description: str = "", type: str = "task",
                status: str = Task.Status.PENDING, owner: User | None = None, assistant: Assistant | None = None,
                source_chat=None, parent: Task | None = None, followers=(), metadata: dict | None = None,
                due_at=None, template=None, summary: str = "", events: list[dict] | None = None) -> Task:
    """Create a task and its first activity ("Task created"), attributed to whoever created it.

    The input is checked first, then the writes run in one transaction, which inside a caller's sets no
    savepoint of its own (two statements fewer per task, e.g. in chat processing): a refused input
    leaves the caller's transaction usable, a failed write fails it whole, as every caller lets it.
    `task.created` is emitted, or added to `events` for a caller that emits it with its own events in
    its transaction (one INSERT: chat processing). The task's INSERT is written by hand, as an activity's."""
    task_validate_type(type)
    _validate_status(status)
    with transaction.atomic(savepoint=False):
        task = Task(account=account, title=title, description=description, type=type, status=status, owner=owner,
                    assistant=assistant, source_chat=source_chat, parent=parent, metadata=metadata or {},
                    due_at=due_at, template=template, summary=summary)
        insert(task)
        if followers:
            task.followers.set(followers)
        else:  # none: the event's data (and the API's answer) says so without asking the database
            task._prefetched_objects_cache = {"followers": task.followers.none()}
        activity_add(task, Activity.Type.STATUS_CHANGE, "Task created", actor_user=actor_user,
                     actor_assistant=actor_assistant, metadata={"status": status})
        created = {"account_id": account.id, "type": EventType.TASK_CREATED, "data": task_data(task)}
        if events is None:
            event_emit(**created)
        else:
            events.append(created)
        _schedule_in_step(task)
    return task


#: The task types whose due time plans a scheduled action (a reminder, a follow-up).
SCHEDULED_TYPES = ("reminders", "followups")


def _schedule_in_step(task: Task, *, previous_type: str | None = None) -> None:
    """Plan, move or cancel the task's reminder or follow-up after a write (only for the types that have one,
    so other tasks' writes cost no query)."""
    types = {task.type, previous_type}
    if "reminders" in types:
        reminders.task_reminder_plan(task=task)
    if "followups" in types:
        reminders.task_followup_plan(task=task)


def task_create_requested(*, account: Account, title: str, description: str, type: str, status: str,
                          owner: User | None, source_chat, metadata: dict, **fields) -> Task:
    """`task_create` for a task the engine asked for while answering a chat (`conversations.hooks.task_requested`).

    A pending `reminders` or `followups` request's time ("tomorrow at 9am", "on Friday", "in 2 hours", read
    from the message that asked, in the owner's zone; a date alone is 09:00) becomes the task's `dueAt`,
    and a follow-up's person (a human of the chat the request names) its `metadata.followupWith`. Its one
    write is `task_create`'s, in that transaction.
    """
    if type in SCHEDULED_TYPES and status == Task.Status.PENDING:
        message = Message.objects.filter(id=metadata.get("sourceMessageId"), account_id=account.id).first()
        text, said_at = (message.content, message.timestamp) if message else (description, timezone.now())
        fields["due_at"] = reminders.requested_due_at(text=text, owner=owner, said_at=said_at)
        if type == "followups" and source_chat is not None:
            assistant = fields.get("assistant")
            person = reminders.followup_person(chat_id=source_chat.id, text=text, owner=owner,
                                               exclude=(assistant.email,) if assistant else ())
            if person:
                metadata = {**metadata, "followupWith": person}
    return task_create(account=account, title=title, description=description, type=type, status=status, owner=owner,
                       source_chat=source_chat, metadata=metadata, **fields)


@transaction.atomic
def task_create_with_template(*, account: Account, template: TaskTemplate, actor_user: User | None,
                              owner: User | None = None, assistant: Assistant | None = None, followers=(),
                              title: str | None = None,
                              description: str | None = None, parent: Task | None = None, type: str | None = None,
                              status: str | None = None, context: dict | None = None, **fields) -> Task:
    """Build a task and one subtask per step from a catalog template, then apply what the caller gave beyond
    the template, all or nothing.

    1. Refuse an inactive template (400 `template_inactive`) and an invalid explicit type or status.
    2. Title: `title` if given, else the rendered title template, else the template's display name.
       Description likewise (`description` or the rendered description template).
    3. The task gets the template's task type and default status and links to the template.
    4. Each step becomes a subtask with the same type, owner and assistant, status pending,
       `metadata.templateStep` = its position (0-based).
    5. Then the caller's parent, explicit type or status, due date, metadata, summary.
    """
    if template.status != TaskTemplate.Status.ACTIVE:
        raise BadRequest(f"Task template '{template.name}' is inactive", error_code="template_inactive")
    if type is not None:
        task_validate_type(type)
    if status is not None:
        _validate_status(status)
    task = _task_from_template(account=account, template=template, actor_user=actor_user, owner=owner,
                               assistant=assistant, followers=followers, title=title, description=description,
                               context=context)
    overrides = {name: value for name, value in {"parent": parent, "type": type, "status": status}.items()
                 if value is not None}
    overrides.update(fields)
    if overrides:
        model_update(task, overrides)
    if status is not None:
        task.activities.filter(content="Task created").update(metadata={"status": status})
    return task


def _task_from_template(*, account: Account, template: TaskTemplate, actor_user: User | None, owner: User | None,
                        assistant: Assistant | None, followers, title: str | None, description: str | None,
                        context: dict | None) -> Task:
    task_title = title or render_template_text(template.title_template, context) or template.display_name
    task_description = description if description is not None else render_template_text(
        template.description_template, context)
    task = task_create(account=account, title=task_title[:TITLE_MAX_LENGTH], description=task_description,
                       type=template.task_type, status=template.default_status, owner=owner,
                       assistant=assistant, followers=followers, actor_user=actor_user, template=template)
    for position, step in enumerate(template.steps):
        step_title, step_description = template_step_parts(step)
        task_create(account=account, parent=task, title=render_template_text(step_title, context)[:TITLE_MAX_LENGTH],
                    description=render_template_text(step_description, context), type=template.task_type,
                    owner=owner, assistant=assistant, actor_user=actor_user, metadata={"templateStep": position})
    return task


def _describe_edit(field: str, old: str, new: str) -> str:
    if field == "title":
        return f'Title changed from "{old}" to "{new}"'
    return "Description updated" if old else "Description added"


def task_update(*, task: Task, actor_user: User | None = None, actor_assistant: Assistant | None = None,
                locked: bool = False, events: list[dict] | None = None, **fields) -> Task:
    """Apply a partial update and record it.

    Steps: lock the row (a concurrent update or processing run sees the result, not a stale status);
    check the transition against the locked row; write one activity per status change, per edit of
    title/description and per change of owner or followers; save; emit `task.updated` (and
    `task.status_changed`) when the task's API representation changed.

    `locked`: the caller already holds the row's lock in this transaction and passes that row, as
    loaded then (owner selected, followers prefetched) and changed only through this function, so it is
    updated as is instead of read again (the agent's steps update their task up to three times a step),
    and without a savepoint of its own: the caller's transaction is all or nothing already, and nobody
    continues it after a failed update, so the two savepoint statements would buy nothing.
    `events`: events of the same change the caller recorded (`events_emit_many`'s items, an approval the
    step held), emitted before the task's own in their one INSERT.
    """
    with transaction.atomic(savepoint=not locked):
        return _task_update(task=task, actor_user=actor_user, actor_assistant=actor_assistant, locked=locked,
                            events=events or [], **fields)


def _task_update(*, task: Task, actor_user: User | None, actor_assistant: Assistant | None, locked: bool,
                 events: list[dict], **fields) -> Task:
    if not locked:
        # Owner and followers loaded with the row: the events' before and after, and the view's answer, reuse them.
        task = (Task.objects.select_for_update(of=("self",)).select_related("owner").prefetch_related("followers")
                .get(pk=task.pk))
    before, previous_type = task_data(task), task.type
    actor = {"actor_user": actor_user, "actor_assistant": actor_assistant}
    if "type" in fields:
        task_validate_type(fields["type"])
    new_status = fields.pop("status", task.status)
    _validate_status(new_status)
    task_ensure_transition(task=task, status=new_status)
    for field in ("title", "description"):
        if field in fields and fields[field] != getattr(task, field):
            old = getattr(task, field)
            activity_add(task, Activity.Type.EDIT, _describe_edit(field, old, fields[field]),
                      metadata={"field": field, "from": old, "to": fields[field]}, **actor)
    if "owner" in fields and fields["owner"] != task.owner:
        owner = fields["owner"]
        activity_add(task, Activity.Type.ASSIGNMENT, f"Owner set to {owner.full_name}" if owner else "Owner removed",
                  metadata={"ownerId": owner.id if owner else None}, **actor)
    followers = fields.pop("followers", None)
    if followers is not None:
        _set_followers(task, followers, actor)
    if new_status != task.status:
        activity_add(task, Activity.Type.STATUS_CHANGE, f"Status changed from {task.status} to {new_status}",
                  metadata={"from": task.status, "to": new_status}, **actor)
        task.status = new_status
    model_update(task, fields, save=False)
    update(task, [*fields, "status"])  # the row is locked: only what changed is written
    _emit_task_changes(task, before, first=events)
    _schedule_in_step(task, previous_type=previous_type)
    return task


@transaction.atomic
def tasks_complete(*, tasks: list[Task]) -> None:
    """Complete `tasks` on their assistant's behalf (a dispatcher's batch of fired reminders) with what
    `task_update(status="completed")` writes for each (a status-change activity, the row, `task.updated` and
    `task.status_changed`, its reminder and follow-ups cancelled) in one statement per table for the
    whole batch rather than seven queries a task.

    The caller passes the tasks locked (`select_for_update`), owner selected and followers prefetched (the
    events' `data`), each in a status that may move to completed.
    """
    if not tasks:
        return
    now = timezone.now()
    activities, events = [], []
    for task in tasks:
        task_ensure_transition(task=task, status=Task.Status.COMPLETED)
        before = task_data(task)
        activities.append(Activity(account_id=task.account_id, task=task, type=Activity.Type.STATUS_CHANGE,
                                   content=f"Status changed from {task.status} to {Task.Status.COMPLETED}",
                                   actor_assistant=task_assistant(task),
                                   metadata={"from": task.status, "to": Task.Status.COMPLETED}))
        task.status, task.updated_at = Task.Status.COMPLETED, now
        events += _task_changes(task, before)
    Activity.objects.bulk_create(activities)
    ids = [task.id for task in tasks]
    Task.objects.filter(id__in=ids).update(status=Task.Status.COMPLETED, updated_at=now)
    events_emit_many(events)
    actions_cancel(task_id__in=ids, kind__in=reminders.TASK_KINDS, reason="task no longer due")


def _set_followers(task: Task, followers, actor: dict) -> None:
    current = set(task.followers.values_list("id", flat=True))
    wanted = {user.id for user in followers}
    if current == wanted:
        return
    task.followers.set(followers)
    activity_add(task, Activity.Type.ASSIGNMENT, "Followers changed",
              metadata={"added": sorted(wanted - current), "removed": sorted(current - wanted)}, **actor)


def task_delete(*, task: Task) -> None:
    """Delete a task with its subtasks (recursively), activities and meetings, all or nothing.

    Refused with 409 while the task is being processed, so a processing run never writes its reply
    into a task that vanished under it.
    """
    with hold_lock(task_lock_name(task.id), PROCESS_LOCK_TTL_MS, on_busy=task_processing_conflict()):
        with transaction.atomic():
            event_emit(account_id=task.account_id, type=EventType.TASK_DELETED, data=task_data(task))
            actions_cancel(task_id=task.id, reason="task deleted")
            actions_cancel(meeting_id__in=list(task.meetings.values_list("id", flat=True)), reason="task deleted")
            task.delete()


@transaction.atomic
def task_comment_add(*, task: Task, content: str, actor_user: User | None = None, files=()) -> Activity:
    task.save(update_fields=["updated_at"])
    return activity_add(task, Activity.Type.COMMENT, content, actor_user=actor_user, files=[dict(f) for f in files])


# -- meetings: booking -------------------------------------------------------------------------------

class SlotUnavailable(Conflict):
    error_code = "slot_unavailable"
    default_message = "The time is not available for the meeting's owner"


def _meeting_event(event: str, meeting: Meeting, previous_attributes: dict | None = None) -> None:
    """The webhooks `meeting.booked`, `meeting.rescheduled` (with `previousAttributes`) and
    `meeting.cancelled`: the meeting as the API answers it."""
    from .api.serializers import MeetingSerializer  # the serializers import this module

    event_emit(account_id=meeting.account_id, type=event, data=MeetingSerializer(meeting).data,
               previous_attributes=previous_attributes)


@contextlib.contextmanager
def _owner_turn(owner_id: str):
    """Bookings of one owner in turn on SQLite, which has no exclusion constraint; PostgreSQL's
    constraint (migration 0002) settles concurrent overlaps without a lock. Waits for the holder (a
    booking's check and insert are a few queries) rather than refusing a booking that may not overlap."""
    if connection.vendor == "postgresql":
        yield
        return
    deadline = time.monotonic() + BOOKING_LOCK_WAIT_SECONDS
    while (lock := try_acquire(f"meetings:owner:{owner_id}", BOOKING_LOCK_TTL_MS)) is None:
        if time.monotonic() > deadline:
            raise SlotUnavailable("Another booking of this owner is in progress; retry")
        time.sleep(0.01)
    try:
        yield
    finally:
        lock.release()


BOOKING_LOCK_TTL_MS = 10_000
BOOKING_LOCK_WAIT_SECONDS = 10


def _check_slot(*, context, start_at, end_at, force: bool, exclude_meeting_id: str | None = None) -> None:
    """409 `slot_unavailable` with the conflicting events and the rules broken. `force` books over synced
    events and rules, never over another TSKR meeting of the owner (that is a double booking)."""
    conflicts = booking_conflicts(context=context, start=start_at, end=end_at, exclude_meeting_id=exclude_meeting_id)
    double_booked = any("meetingId" in item for item in conflicts["events"])
    if double_booked or (not force and (conflicts["events"] or conflicts["issues"])):
        raise SlotUnavailable(details={"events": [_iso(item) for item in conflicts["events"]],
                                       "issues": conflicts["issues"]})


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _iso(item: dict) -> dict:
    return {key: _jsonable(value) for key, value in item.items()}


def _save_holding_time(meeting: Meeting, **save_kwargs) -> None:
    """Save a meeting that holds its owner's time: PostgreSQL's exclusion constraint turns a concurrent
    overlapping booking into 409 `slot_unavailable`."""
    try:
        with transaction.atomic():
            meeting.save(**save_kwargs)
    except IntegrityError:
        raise SlotUnavailable("Another meeting of the owner was booked at this time",
                              details={"events": [], "issues": [{"reason": "booked"}]}) from None


def _event_write(meeting: Meeting) -> EventWrite:
    return EventWrite(event_key=meeting.id, google_event_id=meeting.google_event_id, title=meeting.title,
                      start=meeting.start_at, end=meeting.end_at, timezone=meeting.timezone or "UTC",
                      attendees=meeting.attendees, location=meeting.location, conference=meeting.conference,
                      meeting_link=meeting.meeting_link, send_updates=meeting.send_updates)


def _normalized_attendees(attendees) -> list[dict]:
    return [{"email": person, "name": ""} if isinstance(person, str) else
            {"email": person["email"], "name": person.get("name") or ""} for person in attendees]


@transaction.atomic
def _meeting_confirm(*, meeting: Meeting, written, event: str, actor_user: User | None, content: str,
                     previous: dict | None = None) -> Meeting:
    """The provider has the event: store its ids and links, mark the meeting booked, say so."""
    if written is not None:
        meeting.provider_event_id = written.provider_event_id
        meeting.html_link = written.html_link or meeting.html_link
        meeting.meeting_link = written.conference_link or meeting.meeting_link
    meeting.status = Meeting.Status.BOOKED
    meeting.save()
    metadata = {"meetingId": meeting.id, "sequence": meeting.sequence}
    if previous:
        metadata["previousAttributes"] = previous
    activity_add(meeting.task, Activity.Type.MEETING, content, actor_user=actor_user, metadata=metadata)
    _meeting_event(event, meeting, previous)
    if meeting.owner_id:
        reminders.meeting_reminders_plan_one(meeting=meeting)
    return meeting


#: The conference each provider creates with the event.
PROVIDER_CONFERENCES = {"google": Meeting.Conference.MEET, "azure": Meeting.Conference.TEAMS}


def _conference(asked: str | None, defaults: dict, platform: str | None) -> str:
    """The conference to create. Meet needs a Google calendar and Teams a Microsoft one: asked for
    explicitly elsewhere it is a 400; the preference's default falls back to none there (a user who
    prefers Meet can still book on Outlook or in TSKR only)."""
    if asked is None:
        preferred = defaults.get("conferenceSolution") or Meeting.Conference.NONE
        if preferred in PROVIDER_CONFERENCES.values() and PROVIDER_CONFERENCES.get(platform) != preferred:
            return Meeting.Conference.NONE
        return preferred
    if asked in PROVIDER_CONFERENCES.values() and PROVIDER_CONFERENCES.get(platform) != asked:
        where = "a Google calendar" if asked == Meeting.Conference.MEET else "a Microsoft calendar"
        raise ValidationFailed(f"{asked} needs {where}", details={"conference": [f"{asked} needs {where}"]})
    return asked


def meeting_book(*, task: Task, actor_user: User | None, start_at, end_at=None, duration: int | None = None,
                 title: str | None = None, timezone_name: str | None = None, attendees=(),
                 meeting_type: str = Meeting.Type.VIRTUAL, location: str = "", conference: str | None = None,
                 meeting_link: str = "", calendar_id: str | None = None, send_updates: bool = True,
                 force: bool = False, meeting_id: str | None = None) -> Meeting:
    """Book a meeting for the task's owner (the caller when the task has none).

    `meeting_id` (derived by a caller that may run twice, such as an approved action) makes the booking
    idempotent: a meeting of that id already there is answered as it is, never booked a second time.

    1. The owner's scheduling context: preferences (default duration, conference, zoom link, calendars
       to write), zone and calendars.
    2. The calendar to write to (404 `calendar_not_found`, 409 `calendar_not_writable` /
       `oauth_reauthorization_required` for an explicit one), or none: booked in TSKR only.
    3. Hold the time: check it (409 `slot_unavailable`) and save the row, `pending` when a provider
       write follows, under the owner's lock on SQLite; PostgreSQL's exclusion constraint settles races.
    4. Outside any transaction, insert the event at the provider with ids derived from the meeting, so
       a retry (the request's or the sweep's) never creates a second one.
    5. Store the event's ids and links, `booked`, an activity and the webhook event. A provider failure
       that a retry may fix (502) leaves the meeting `pending` for the sweep; any other failure removes
       the row, so no time stays held by a meeting that will never exist.
    """
    if meeting_id is not None:
        existing = Meeting.objects.filter(pk=meeting_id, account_id=task.account_id).first()
        if existing is not None:
            return existing
    owner = task.owner or actor_user
    [context] = participants_load(account=task.account, references=[owner.id])
    defaults = context.scheduling["defaults"][meeting_type]
    if end_at is None:
        end_at = start_at + timedelta(minutes=duration or defaults["duration"])
    if end_at <= start_at:
        raise ValidationFailed("end must be after start", details={"end": ["Must be after start"]})
    if meeting_type == Meeting.Type.IN_PERSON and not location:
        location = defaults.get("defaultLocation") or ""
    target = write_target_get(account=task.account, user=owner, calendar_id=calendar_id,
                              preferred_reference_ids=context.scheduling["calendars"]["write"])
    conference = _conference(conference, defaults if meeting_type == Meeting.Type.VIRTUAL else {},
                             target.calendar.platform if target else None)
    if conference == Meeting.Conference.ZOOM and not meeting_link:
        meeting_link = defaults.get("defaultMeetingLink") or ""
    meeting = Meeting(**({"id": meeting_id} if meeting_id else {}), account_id=task.account_id, task=task,
                      owner=owner, title=title or task.title,
                      start_at=start_at, end_at=end_at, timezone=timezone_name or context.zone.key,
                      attendees=_normalized_attendees(attendees), meeting_type=meeting_type, conference=conference,
                      location=location, meeting_link=meeting_link, send_updates=send_updates,
                      calendar=target.calendar if target else None,
                      status=Meeting.Status.PENDING if target else Meeting.Status.BOOKED)
    with _owner_turn(owner.id):
        _check_slot(context=context, start_at=start_at, end_at=end_at, force=force)
        _save_holding_time(meeting, force_insert=True)
    if target is None:
        return _meeting_confirm(meeting=meeting, written=None, event="meeting.booked", actor_user=actor_user,
                                content=f'Meeting "{meeting.title}" booked')
    try:
        written = calendar_event_insert(target=target, event=_event_write(meeting))
    except CalendarProviderError as exc:
        if not exc.transient:
            meeting.delete()
        raise
    except ApplicationError:
        meeting.delete()
        raise
    return _meeting_confirm(meeting=meeting, written=written, event="meeting.booked", actor_user=actor_user,
                            content=f'Meeting "{meeting.title}" booked')


RESCHEDULE_FIELDS = ("title", "start_at", "end_at", "attendees", "location", "timezone")


def _writable_meeting(task: Task, meeting_id: str) -> Meeting:
    meeting = (Meeting.objects.select_related("task", "calendar", "owner")
               .filter(account_id=task.account_id, task=task, id=meeting_id).first())
    if meeting is None:
        raise NotFound("Meeting not found", error_code="meeting_not_found")
    return meeting


def meeting_reschedule(*, task: Task, meeting_id: str, actor_user: User | None, force: bool = False,
                       **changes) -> Meeting:
    """Move or edit a booked meeting: the same provider event is patched (never deleted and re-created)
    and `sequence` goes up.

    The new time is checked like a booking, ignoring the meeting itself, and held at once (the row is
    `pending` until the provider confirms). A failure a retry may fix (502) leaves it `pending` with the
    new values for the sweep; any other failure puts the previous values back.
    """
    meeting = _writable_meeting(task, meeting_id)
    if meeting.status not in Meeting.ACTIVE:
        raise Conflict(f"A {meeting.status} meeting cannot be rescheduled", error_code="meeting_not_active")
    if "attendees" in changes:
        changes["attendees"] = _normalized_attendees(changes["attendees"])
    previous = {name: getattr(meeting, name) for name in RESCHEDULE_FIELDS}
    model_update(meeting, changes, save=False)
    if meeting.end_at <= meeting.start_at:
        raise ValidationFailed("end must be after start", details={"end": ["Must be after start"]})
    target = write_target_for_calendar(calendar=meeting.calendar, user=meeting.owner) if meeting.calendar else None
    [context] = participants_load(account=task.account, references=[meeting.owner_id])
    meeting.sequence += 1
    meeting.status = Meeting.Status.PENDING if target else Meeting.Status.BOOKED
    with _owner_turn(meeting.owner_id):
        _check_slot(context=context, start_at=meeting.start_at, end_at=meeting.end_at, force=force,
                    exclude_meeting_id=meeting.id)
        _save_holding_time(meeting)
    changed = {_API_NAMES[name]: _jsonable(value) for name, value in previous.items()
               if getattr(meeting, name) != value}
    written = None
    if target is not None:
        try:
            written = (calendar_event_patch(target=target, provider_event_id=meeting.provider_event_id,
                                            event=_event_write(meeting)) if meeting.provider_event_id
                       else calendar_event_insert(target=target, event=_event_write(meeting)))
        except CalendarProviderError as exc:
            if not exc.transient:
                _restore(meeting, previous)
            raise
        except ApplicationError:
            _restore(meeting, previous)
            raise
    return _meeting_confirm(meeting=meeting, written=written, event="meeting.rescheduled", actor_user=actor_user,
                            content=f'Meeting "{meeting.title}" rescheduled', previous=changed)


_API_NAMES = {"title": "title", "start_at": "start", "end_at": "end", "attendees": "attendees",
              "location": "location", "timezone": "timezone"}


def _restore(meeting: Meeting, previous: dict) -> None:
    model_update(meeting, previous, save=False)
    meeting.sequence -= 1
    meeting.status = Meeting.Status.BOOKED
    meeting.save()


def meeting_cancel(*, task: Task, meeting_id: str, actor_user: User | None, remove: bool = False) -> Meeting:
    """Cancel at the provider first (Google delete with `sendUpdates`, Graph `cancel` as organizer), then
    keep the row as `cancelled` (or remove it: `DELETE`). A provider failure changes nothing here: the
    meeting stays booked and the caller may retry."""
    meeting = _writable_meeting(task, meeting_id)
    # a pending Google meeting may have its event already (a timed-out insert): its id is known
    event_id = meeting.provider_event_id or (meeting.google_event_id if meeting.calendar_id
                                             and meeting.calendar.platform == "google" else "")
    if meeting.status != Meeting.Status.CANCELLED and meeting.calendar_id and event_id:
        target = write_target_for_calendar(calendar=meeting.calendar, user=meeting.owner)
        calendar_event_cancel(target=target, provider_event_id=event_id, send_updates=meeting.send_updates)
    with transaction.atomic():
        if meeting.status != Meeting.Status.CANCELLED:
            meeting.status = Meeting.Status.CANCELLED
            meeting.sequence += 1
            meeting.save()
            activity_add(task, Activity.Type.MEETING, f'Meeting "{meeting.title}" cancelled', actor_user=actor_user,
                      metadata={"meetingId": meeting.id, "sequence": meeting.sequence})
            _meeting_event("meeting.cancelled", meeting)
        actions_cancel(meeting_id=meeting.id, reason="meeting cancelled")
        if remove:
            meeting.delete()
    return meeting


def meeting_finish_pending(*, account_id: str, meeting_id: str) -> bool:
    """The sweep's work on one meeting left `pending` (a timeout, a 5xx, a crash between the provider
    write and its record): write its event again with the same derived ids (Google answers 409 and the
    event is read back; Graph's transactionId returns the first event), or patch it when it has one.
    Returns whether it is booked now. A permanent failure cancels the meeting rather than hold time
    for an event that cannot exist."""
    meeting = (Meeting.objects.select_related("task", "calendar", "owner")
               .filter(account_id=account_id, id=meeting_id, status=Meeting.Status.PENDING).first())
    claimed = Meeting.objects.filter(id=meeting_id, status=Meeting.Status.PENDING,
                                     updated_at=meeting.updated_at if meeting else None).update(updated_at=timezone.now())
    if not claimed:  # gone, booked meanwhile, or another sweep has it
        return False
    if meeting.calendar is None or meeting.owner is None:
        _meeting_confirm(meeting=meeting, written=None, event="meeting.booked", actor_user=None,
                         content=f'Meeting "{meeting.title}" booked')
        return True
    try:
        target = write_target_for_calendar(calendar=meeting.calendar, user=meeting.owner)
        written = (calendar_event_patch(target=target, provider_event_id=meeting.provider_event_id,
                                        event=_event_write(meeting)) if meeting.provider_event_id
                   else calendar_event_insert(target=target, event=_event_write(meeting)))
    except CalendarProviderError as exc:
        if exc.transient:
            return False
        Meeting.objects.filter(id=meeting.id).update(status=Meeting.Status.CANCELLED, updated_at=timezone.now())
        return False
    except ApplicationError:
        Meeting.objects.filter(id=meeting.id).update(status=Meeting.Status.CANCELLED, updated_at=timezone.now())
        return False
    event = "meeting.rescheduled" if meeting.sequence else "meeting.booked"
    _meeting_confirm(meeting=meeting, written=written, event=event, actor_user=None,
                     content=f'Meeting "{meeting.title}" {"rescheduled" if meeting.sequence else "booked"}')
    return True


def meetings_pending_due() -> list[tuple[str, str]]:
    """(account id, meeting id) of the meetings pending for longer than TSKR_BOOKING_SWEEP_AFTER_SECONDS
    (younger ones may still be in their request's hands)."""
    cutoff = timezone.now() - timedelta(seconds=settings.TSKR_BOOKING_SWEEP_AFTER_SECONDS)
    return list(Meeting.objects.filter(status=Meeting.Status.PENDING, updated_at__lte=cutoff)
                .order_by("updated_at").values_list("account_id", "id")[:500])


#: The engine must finish well inside the lock's TTL, leaving time to write its result.
ENGINE_BUDGET_SECONDS = 25
#: How much of a task's history the engine sees (the most recent activities).
HISTORY_LIMIT = 50


def task_process(*, task: Task, actor_user: User | None, message: str = "", files=()) -> tuple[Task, Activity]:
    """Run the assistant engine on a task for a user's message; return the task and the reply activity.

    1. Take the task's processing lock (409 `task_processing` when another run holds it).
    2. Build the engine's context from the task, its recent history and its owner (with preferences).
    3. Call the engine, outside any transaction: on failure it raises its own 502/503/504 and nothing
       has been written.
    4. In one transaction: the user's message activity, the reply activity, and the status the
       engine decided when the lifecycle allows it (otherwise the proposal is kept in the reply's
       metadata as `proposedStatus`).
    The lock is released at the end, also on failure.
    """
    with hold_lock(task_lock_name(task.id), PROCESS_LOCK_TTL_MS, on_busy=task_processing_conflict()) as lock:
        received_at = timezone.now()
        files = [dict(file) for file in files]
        engine = get_engine()
        context = _task_context(task, actor_user, message, files)
        with EngineCallRecorder(account_id=task.account_id, assistant=task_assistant(task), task=task) as call:
            result = call.run(engine, context, deadline=Deadline(ENGINE_BUDGET_SECONDS))
            if not lock.extend():
                raise Conflict("Processing outlived the task's lock; nothing was written. Retry.",
                               error_code="lock_expired")
            recorded = _task_record_run(task=task, actor_user=actor_user, message=message, files=files,
                                        received_at=received_at, reply=result.reply, new_status=result.new_status,
                                        engine=engine.name)
            call.finished(EngineCall.Outcome.REPLIED)
        return recorded


def _task_context(task: Task, actor_user: User | None, message: str, files: list[dict]):
    task = Task.objects.select_related("owner", "assistant", "source_chat__assistant").get(pk=task.pk)
    activities = (Activity.objects.filter(task=task).select_related("actor_user")
                  .order_by("-created_at", "-id")[:HISTORY_LIMIT])
    history = tuple(
        TranscriptEntry(role=_role(activity),
                        content=activity.content if activity.type in (Activity.Type.MESSAGE, Activity.Type.COMMENT)
                        else f"({activity.get_type_display().lower()}) {activity.content}",
                        author=activity.actor_user.email if activity.actor_user else "", timestamp=activity.created_at)
        for activity in reversed(list(activities)))
    if files:
        attached = ", ".join(file.get("name") or file["url"] for file in files)
        message = f"{message}\n\n(Attached images: {attached})".strip()
    assistant = task_assistant(task)
    return TaskContext(assistant=assistant_profile(assistant), agent=agent_for(assistant),
                       user=user_profile(task.owner, reader_id=actor_user.pk if actor_user else None),
                       title=task.title, description=task.description, type=task.type, status=task.status, history=history, message=message, now=timezone.now())


def task_assistant(task: Task) -> Assistant | None:
    """The task's assistant, else the assistant of the chat it came from."""
    if task.assistant is not None:
        return task.assistant
    return task.source_chat.assistant if task.source_chat is not None else None


def _role(activity: Activity) -> str:
    is_assistant = activity.actor_assistant_id is not None or activity.metadata.get("role") == "assistant"
    return "assistant" if is_assistant else "user"


@transaction.atomic
def _task_record_run(*, task: Task, actor_user: User | None, message: str, files: list[dict], received_at,
                     reply: str, new_status: str | None, engine: str) -> tuple[Task, Activity]:
    task = Task.objects.select_for_update().filter(pk=task.pk, account_id=task.account_id).first()
    if task is None:
        raise NotFound("Task not found")
    before = task_data(task)
    assistant = task_assistant(task)
    if message or files:
        activity_add(task, Activity.Type.MESSAGE, message, actor_user=actor_user, files=files,
                  metadata={"role": "user"}, created_at=received_at)
    metadata = {"role": "assistant", "engine": engine}
    applies = new_status is not None and new_status != task.status and new_status in TRANSITIONS[task.status]
    if new_status is not None and new_status != task.status and not applies:
        metadata["proposedStatus"] = new_status
    reply_activity = activity_add(task, Activity.Type.MESSAGE, reply, actor_assistant=assistant, metadata=metadata)
    if applies:
        activity_add(task, Activity.Type.STATUS_CHANGE, f"Status changed from {task.status} to {new_status}",
                  actor_assistant=assistant, metadata={"from": task.status, "to": new_status, "role": "assistant"})
        task.status = new_status
    task.save(update_fields=["status", "updated_at"])
    _emit_task_changes(task, before)
    return task, reply_activity
