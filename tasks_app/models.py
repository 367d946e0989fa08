import base64

from django.db import models
from django.utils import timezone

from admin_catalog.task_vocabulary import TaskStatus
from tskr.infra.ids import PublicIdField
from tskr.models import TimeStampedModel


class Task(TimeStampedModel):
    """Work an assistant does for a user: created from a chat, by the API or from a template.

    Subtasks are tasks with a `parent`. Deleting a task deletes its subtasks, activities and meetings.
    """

    Status = TaskStatus  # defined with the catalog, whose templates name a default status

    id = PublicIdField("task")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="owned_tasks")
    followers = models.ManyToManyField("accounts.User", blank=True, related_name="followed_tasks")
    assistant = models.ForeignKey("accounts.Assistant", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="tasks")
    source_chat = models.ForeignKey("conversations.Chat", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="tasks")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="subtasks")
    template = models.ForeignKey("admin_catalog.TaskTemplate", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="tasks")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=64, default="task")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING)
    summary = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "status", "-created_at"]),
            models.Index(fields=["account", "type", "-created_at"]),
            models.Index(fields=["account", "owner"]),
        ]

    def __str__(self):
        return self.title

    @property
    def allowed_transitions(self) -> list[str]:
        """Statuses this task may move to next (see TRANSITIONS)."""
        return list(TRANSITIONS[self.status])


S = Task.Status
#: The task lifecycle. Finished work (completed) only comes back by reopening through in_progress;
#: a failed task may be retried (in_progress) or re-queued (pending). Staying on the same status is
#: not a transition and is always accepted.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PENDING: (S.IN_PROGRESS, S.ON_HOLD, S.NEEDS_CLARIFICATION, S.COMPLETED, S.FAILED),
    S.IN_PROGRESS: (S.PENDING, S.ON_HOLD, S.NEEDS_CLARIFICATION, S.COMPLETED, S.FAILED),
    S.ON_HOLD: (S.PENDING, S.IN_PROGRESS, S.FAILED),
    S.NEEDS_CLARIFICATION: (S.PENDING, S.IN_PROGRESS, S.ON_HOLD, S.FAILED),
    S.COMPLETED: (S.IN_PROGRESS,),
    S.FAILED: (S.PENDING, S.IN_PROGRESS),
}


class Activity(models.Model):
    """An entry of a task's history: a status change, an edit, a message, a comment, an assignment."""

    class Type(models.TextChoices):
        STATUS_CHANGE = "status_change"
        EDIT = "edit"
        MESSAGE = "message"
        COMMENT = "comment"
        ASSIGNMENT = "assignment"
        MEETING = "meeting"

    id = PublicIdField("act")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(max_length=32, choices=Type.choices)
    content = models.TextField(blank=True)
    actor_user = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    actor_assistant = models.ForeignKey("accounts.Assistant", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+")
    files = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["task", "created_at", "id"])]


class Meeting(TimeStampedModel):
    """A meeting a task arranges: when, where (place or link) and with whom, and, once booked, the event
    it became on the owner's provider calendar (`calendar`, `provider_event_id`; null calendar: booked in
    TSKR only, invited by `.ics`).

    `pending` means the provider write has not been confirmed yet (a timeout, a 5xx, a crash): the sweep
    (`meetings_finish_pending`) finishes it with the same derived ids, so it never creates a second event.
    `pending` and `booked` meetings hold their owner's time: on PostgreSQL an exclusion constraint over
    (owner, [start, end)) forbids two of them overlapping (migration 0002).
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed"
        SCHEDULED = "scheduled"
        PENDING = "pending"
        BOOKED = "booked"
        CANCELLED = "cancelled"
        COMPLETED = "completed"

    class Type(models.TextChoices):
        VIRTUAL = "virtual"
        IN_PERSON = "inPerson"

    class Conference(models.TextChoices):
        MEET = "meet"
        TEAMS = "teams"
        ZOOM = "zoom"
        NONE = "none"

    id = PublicIdField("mtg")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="meetings")
    owner = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=300)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, blank=True)
    attendees = models.JSONField(default=list, blank=True)
    meeting_type = models.CharField(max_length=16, choices=Type.choices, default=Type.VIRTUAL)
    conference = models.CharField(max_length=8, choices=Conference.choices, default=Conference.NONE)
    location = models.CharField(max_length=500, blank=True)
    meeting_link = models.URLField(max_length=1000, blank=True)
    calendar = models.ForeignKey("calendars_app.Calendar", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="meetings")
    provider_event_id = models.CharField(max_length=1024, blank=True)
    html_link = models.URLField(max_length=2000, blank=True)
    send_updates = models.BooleanField(default=True)
    sequence = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    #: A `proposed` meeting's offered times, numbered as the participants saw them:
    #: `[{"number", "start", "end"}]` (ISO 8601). Empty once booked, and for meetings booked directly.
    slots = models.JSONField(default=list, blank=True)

    #: the statuses that hold the owner's time (the exclusion constraint's condition)
    ACTIVE = (Status.PENDING, Status.BOOKED)

    class Meta:
        indexes = [models.Index(fields=["task", "start_at"]), models.Index(fields=["owner", "start_at"]),
                   models.Index(fields=["status", "updated_at"]),
                   models.Index(fields=["calendar", "provider_event_id"])]

    @property
    def google_event_id(self) -> str:
        """Google's client-chosen event id: base32hex (a-v, 0-9), 5 to 1024 characters. Derived from the
        meeting's id, so a retried insert names the same event and Google answers 409 instead of
        creating a second one."""
        return base64.b32hexencode(self.id.encode()).decode().rstrip("=").lower()


class Approval(models.Model):
    """An action the assistant holds for its task owner's decision, because the owner supervises it
    (`preferences.scheduling.defaults.supervision`). `payload` is the action exactly as it will run;
    approving runs it once (`approvals.approval_approve`), and `result` then names what it produced.
    `key` is the submitting step's idempotency key: a step that runs twice holds one approval.
    """

    class Kind(models.TextChoices):
        SEND_MESSAGE = "send_message"
        BOOK_MEETING = "book_meeting"
        RESCHEDULE_MEETING = "reschedule_meeting"
        CANCEL_MEETING = "cancel_meeting"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"

    id = PublicIdField("apr")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="approvals")
    chat = models.ForeignKey("conversations.Chat", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    owner = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(default=dict)
    key = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="approval_key_unique_per_account")]
        indexes = [models.Index(fields=["owner", "status", "-created_at"]),
                   models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"{self.kind} ({self.status})"


class ScheduledAction(models.Model):
    """Something the assistant will do at a set time: remind a task's owner, remind a user of a meeting or
    calendar event, follow up with a person. The schedule is these rows, scanned by the dispatcher
    (`tasks_app.schedule`); no Celery ETA holds a future action.

    `key` names one intended firing (task + kind + occurrence), so planning twice never schedules twice.
    `due_at` is the UTC instant; `wall_time` and `zone` are the local time it was derived from, kept so a
    reminder set for 09:00 local stays 09:00 local across a DST change. `target_version` fingerprints what
    the plan was based on (a due time, a meeting's start): the dispatcher re-reads the target before
    firing and cancels the action when it no longer matches. `claimed_at`/`locked_until` are a dispatcher's
    claim: a worker that dies mid-fire leaves a claim that expires, and another dispatcher takes the row.
    """

    class Kind(models.TextChoices):
        TASK_REMINDER = "task_reminder"
        MEETING_REMINDER = "meeting_reminder"
        EVENT_REMINDER = "event_reminder"
        FOLLOWUP = "followup"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        FIRED = "fired"
        CANCELLED = "cancelled"
        FAILED = "failed"

    id = PublicIdField("sac")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The targets are kept as ids, not foreign keys: a deleted target must leave the row (cancelled, for
    # the record and for the dispatcher's re-read), not cascade it away or null the id it was about.
    task_id = models.CharField(max_length=40, blank=True, db_index=True)
    meeting_id = models.CharField(max_length=40, blank=True, db_index=True)
    event_id = models.CharField(max_length=40, blank=True, db_index=True)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                             help_text="Whom a reminder is for")
    key = models.CharField(max_length=300, unique=True)
    due_at = models.DateTimeField()
    wall_time = models.CharField(max_length=19, help_text="The local time due_at was derived from, in `zone`: "
                                                          "YYYY-MM-DDTHH:MM:SS")
    zone = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    target_version = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=40, blank=True, help_text="The token of the dispatcher's claim")
    claimed_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # the dispatcher's scan: only rows still to fire, oldest due first
        indexes = [models.Index(fields=["due_at"], condition=models.Q(status="scheduled"), name="action_due_idx")]

    def __str__(self):
        return f"{self.kind} {self.due_at:%Y-%m-%d %H:%M}Z ({self.status})"
