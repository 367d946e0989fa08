from django.db import models
from django.utils import timezone

from tskr.infra.ids import PublicIdField
from tskr.models import TimeStampedModel


class Chat(TimeStampedModel):
    """A conversation between users of an account and one of its assistants, on any platform.

    Chats are account-wide: every user of the account sees them. `message_count` and
    `last_message_at` are denormalised so lists cost no aggregate query.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    id = PublicIdField("chat")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="chats")
    assistant = models.ForeignKey("accounts.Assistant", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="chats")
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    title = models.CharField(max_length=300)
    #: The title was made up at creation (none given); the first user message replaces it.
    title_generated = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    metadata = models.JSONField(default=dict, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "status", "-created_at"])]

    def __str__(self):
        return self.title


class Message(models.Model):
    """One message of a chat: from a user (inbound, on some platform) or from the assistant."""

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Platform(models.TextChoices):
        EMAIL = "email"
        SMS = "sms"
        WHATSAPP = "whatsapp"
        SLACK = "slack"
        TEAMS = "teams"
        CHAT = "chat"

    id = PublicIdField("msg")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    #: The user whose token posted the message; differs from `sender` when a gateway posts on someone's behalf.
    posted_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.CHAT)
    content = models.TextField()
    files = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    #: When the assistant answered this inbound message, and its outcome (`services.ProcessOutcome.record()`).
    #: Set once, with the reply, in one transaction: a repeated process call (a gateway retry, a double
    #: click) gets this body back instead of a second reply and second tasks.
    processed_at = models.DateTimeField(null=True, blank=True)
    process_outcome = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["chat", "timestamp", "id"])]

    def __str__(self):
        return f"{self.role}: {self.content[:50]}"


class ChatJob(TimeStampedModel):
    """One asynchronous `POST /chats/:id/process` run, so callers can poll for its outcome.

    Moves queued -> running -> succeeded | failed exactly once: the worker claims it with a
    conditional UPDATE, so a redelivered Celery message never processes the chat twice. An inbound
    message has at most one job that has not failed (the constraint below): repeated or concurrent
    enqueues for it share that job.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = PublicIdField("job")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="jobs")
    requested_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    #: The chat's latest inbound message when the job was queued (null when there was none).
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    #: The processing's outcome once succeeded (`services.ProcessOutcome.record()`, usage included).
    result = models.JSONField(null=True, blank=True)
    #: `{"error", "error_code"}` once failed.
    error = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # "failed" is Status.FAILED (the enum is not in scope here): a failed job may be tried again.
        constraints = [models.UniqueConstraint(fields=["message"], condition=~models.Q(status="failed"),
                                               name="chatjob_one_live_job_per_message")]

    def __str__(self):
        return f"{self.id} ({self.status})"


class EngineCall(models.Model):
    """One call of the assistant engine (processing a chat or a task) and what it cost: `GET /usage` sums these.

    Tokens are the provider's counts (zero for the local engine); `latency_ms` is the engine call alone.
    Chat, task and assistant are cleared, not cascaded, when deleted: the account's spend stays counted.
    """

    class Outcome(models.TextChoices):
        REPLIED = "replied"
        IGNORED = "ignored"
        SUPPRESSED = "suppressed"
        ERROR = "error"

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    assistant = models.ForeignKey("accounts.Assistant", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    chat = models.ForeignKey(Chat, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    task = models.ForeignKey("tasks_app.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    model = models.CharField(max_length=100)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    tasks_created = models.PositiveSmallIntegerField(default=0)
    #: The error envelope's code when the outcome is `error`.
    error_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self):
        return f"{self.model} {self.outcome} ({self.created_at:%Y-%m-%d %H:%M})"
