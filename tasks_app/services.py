"""Writes for tasks. `task_create` is shared: the API, chat processing and templates all create through it.

Every change a person or an assistant makes to a task leaves an Activity saying who did what, written
in the same transaction as the change, so the history can never disagree with the task.
"""
import re

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Assistant, User
from conversations.engine import (
    Deadline,
    TaskContext,
    TranscriptEntry,
    agent_for,
    assistant_profile,
    get_engine,
    user_profile,
)
from conversations.models import EngineCall
from conversations.usage import EngineCallRecorder
from tskr.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from tskr.locks import hold_lock
from tskr.services import model_update

from .models import TRANSITIONS, Activity, Meeting, Task

#: The contract's processing lock: 30 seconds; the engine's budget fits inside it, and it is
#: extended before the result is written.
PROCESS_LOCK_TTL_MS = 30_000
#: Task types are open-ended (the engine's skills, the catalog's templates) but must be slugs.
TASK_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TASK_TYPE_RULE = "must be a slug: lowercase letters, digits and underscores, starting with a letter, at most 64"


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


def _activity(task: Task, type: str, content: str, *, actor_user: User | None = None,
              actor_assistant: Assistant | None = None, **extra) -> Activity:
    return Activity.objects.create(account_id=task.account_id, task=task, type=type, content=content,
                                   actor_user=actor_user, actor_assistant=actor_assistant, **extra)


@transaction.atomic
def task_create(*, account: Account, title: str, actor_user: User | None = None,
                actor_assistant: Assistant | None = None, description: str = "", type: str = "task",
                status: str = Task.Status.PENDING, owner: User | None = None, assistant: Assistant | None = None,
                source_chat=None, parent: Task | None = None, followers=(), metadata: dict | None = None,
                due_at=None, template=None, summary: str = "") -> Task:
    """Create a task and its first activity ("Task created"), attributed to whoever created it."""
    task_validate_type(type)
    _validate_status(status)
    task = Task.objects.create(account=account, title=title, description=description, type=type, status=status,
                               owner=owner, assistant=assistant, source_chat=source_chat, parent=parent,
                               metadata=metadata or {}, due_at=due_at, template=template, summary=summary)
    if followers:
        task.followers.set(followers)
    _activity(task, Activity.Type.STATUS_CHANGE, "Task created", actor_user=actor_user,
              actor_assistant=actor_assistant, metadata={"status": status})
    return task


@transaction.atomic
def task_create_with_template(*, account: Account, template, actor_user: User | None, owner: User | None = None,
                              assistant: Assistant | None = None, followers=(), title: str | None = None,
                              description: str | None = None, parent: Task | None = None, type: str | None = None,
                              status: str | None = None, context: dict | None = None, **fields) -> Task:
    """Build a task from a catalog template (admin_catalog decides title, steps, type and status), then
    apply what the caller gave beyond the template: a parent, an explicit type or status, due date,
    metadata, summary. All in one transaction with the template's subtasks.
    """
    from admin_catalog.services import task_create_from_template  # admin_catalog imports this module

    if type is not None:
        task_validate_type(type)
    if status is not None:
        _validate_status(status)
    task = task_create_from_template(account=account, template=template, actor_user=actor_user, owner=owner,
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


def _describe_edit(field: str, old: str, new: str) -> str:
    if field == "title":
        return f'Title changed from "{old}" to "{new}"'
    return "Description updated" if old else "Description added"


@transaction.atomic
def task_update(*, task: Task, actor_user: User | None = None, actor_assistant: Assistant | None = None,
                **fields) -> Task:
    """Apply a partial update and record it.

    Steps: lock the row (a concurrent update or processing run sees the result, not a stale status);
    check the transition against the locked row; write one activity per status change, per edit of
    title/description and per change of owner or followers; save.
    """
    task = Task.objects.select_for_update().get(pk=task.pk)
    actor = {"actor_user": actor_user, "actor_assistant": actor_assistant}
    if "type" in fields:
        task_validate_type(fields["type"])
    new_status = fields.pop("status", task.status)
    _validate_status(new_status)
    task_ensure_transition(task=task, status=new_status)
    for field in ("title", "description"):
        if field in fields and fields[field] != getattr(task, field):
            old = getattr(task, field)
            _activity(task, Activity.Type.EDIT, _describe_edit(field, old, fields[field]),
                      metadata={"field": field, "from": old, "to": fields[field]}, **actor)
    if "owner" in fields and fields["owner"] != task.owner:
        owner = fields["owner"]
        _activity(task, Activity.Type.ASSIGNMENT, f"Owner set to {owner.full_name}" if owner else "Owner removed",
                  metadata={"ownerId": owner.id if owner else None}, **actor)
    followers = fields.pop("followers", None)
    if followers is not None:
        _set_followers(task, followers, actor)
    if new_status != task.status:
        _activity(task, Activity.Type.STATUS_CHANGE, f"Status changed from {task.status} to {new_status}",
                  metadata={"from": task.status, "to": new_status}, **actor)
        task.status = new_status
    return model_update(task, fields)


def _set_followers(task: Task, followers, actor: dict) -> None:
    current = set(task.followers.values_list("id", flat=True))
    wanted = {user.id for user in followers}
    if current == wanted:
        return
    task.followers.set(followers)
    _activity(task, Activity.Type.ASSIGNMENT, "Followers changed",
              metadata={"added": sorted(wanted - current), "removed": sorted(current - wanted)}, **actor)


def task_delete(*, task: Task) -> None:
    """Delete a task with its subtasks (recursively), activities and meetings, all or nothing.

    Refused with 409 while the task is being processed, so a processing run never writes its reply
    into a task that vanished under it.
    """
    with hold_lock(task_lock_name(task.id), PROCESS_LOCK_TTL_MS, on_busy=task_processing_conflict()):
        with transaction.atomic():
            task.delete()


@transaction.atomic
def task_comment_add(*, task: Task, content: str, actor_user: User | None = None, files=()) -> Activity:
    task.save(update_fields=["updated_at"])
    return _activity(task, Activity.Type.COMMENT, content, actor_user=actor_user, files=[dict(f) for f in files])


@transaction.atomic
def meeting_create(*, task: Task, title: str, start_at, end_at, actor_user: User | None = None,
                   **fields) -> Meeting:
    """Attach a meeting to a task (and say so in its history). The end must come after the start."""
    if end_at <= start_at:
        raise ValidationFailed("end must be after start", details={"end": ["Must be after start"]})
    meeting = Meeting.objects.create(account_id=task.account_id, task=task, title=title, start_at=start_at,
                                     end_at=end_at, **fields)
    _activity(task, Activity.Type.MEETING, f'Meeting "{title}" added', actor_user=actor_user,
              metadata={"meetingId": meeting.id})
    return meeting


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
        with EngineCallRecorder(account=task.account, assistant=_assistant_of(task), task=task) as call:
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
    assistant = _assistant_of(task)
    return TaskContext(assistant=assistant_profile(assistant), agent=agent_for(assistant),
                       user=user_profile(task.owner, reader_id=actor_user.pk if actor_user else None),
                       title=task.title, description=task.description, type=task.type, status=task.status, history=history, message=message, now=timezone.now())


def _assistant_of(task: Task) -> Assistant | None:
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
    assistant = _assistant_of(task)
    if message or files:
        _activity(task, Activity.Type.MESSAGE, message, actor_user=actor_user, files=files,
                  metadata={"role": "user"}, created_at=received_at)
    metadata = {"role": "assistant", "engine": engine}
    applies = new_status is not None and new_status != task.status and new_status in TRANSITIONS[task.status]
    if new_status is not None and new_status != task.status and not applies:
        metadata["proposedStatus"] = new_status
    reply_activity = _activity(task, Activity.Type.MESSAGE, reply, actor_assistant=assistant, metadata=metadata)
    if applies:
        _activity(task, Activity.Type.STATUS_CHANGE, f"Status changed from {task.status} to {new_status}",
                  actor_assistant=assistant, metadata={"from": task.status, "to": new_status, "role": "assistant"})
        task.status = new_status
    task.save(update_fields=["status", "updated_at"])
    return task, reply_activity
