from django.db import models
from django.db.models.functions import Lower

from tskr.infra.ids import PublicIdField
from tskr.models import TimeStampedModel


class Account(TimeStampedModel):
    """A customer of the platform. Every API resource belongs to exactly one account.

    `staff` marks the platform operator's own account: only its certificates can carry super admin.
    """

    id = PublicIdField("acc")
    name = models.CharField(max_length=200)
    staff = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.name} ({self.id})"


class Certificate(models.Model):
    """An RSA public key an account signs its JWTs with; `kid` in the token header selects it."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    id = PublicIdField("cert")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="certificates")
    kid = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True)
    public_key_pem = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.kid} ({self.status})"


class User(TimeStampedModel):
    """An end user inside a customer's product. Email is unique per account, case-insensitively.

    Emails are stored normalised (`tskr.emails.normalize_email`: ASCII lower-cased), so the unique
    constraint is on the stored value: the database's `lower()` would, under most locales, also fold
    letters such as the Kelvin sign that the normalisation keeps apart.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = PublicIdField("user")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users")
    email = models.EmailField(max_length=254)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    avatar = models.URLField(max_length=1000, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="user_email_unique_per_account"),
            models.UniqueConstraint(fields=["account", "external_id"], condition=models.Q(external_id__isnull=False),
                                    name="user_external_id_unique_per_account"),
        ]
        indexes = [models.Index(fields=["account", "status", "created_at"])]

    def __str__(self):
        return self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.email


class Assistant(TimeStampedModel):
    """An AI assistant persona of an account, reachable at its own email address."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = PublicIdField("asst")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="assistants")
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    personality = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    writing_style = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    agent = models.ForeignKey("admin_catalog.Agent", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="assistants")

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), "account", name="assistant_email_unique_per_account")]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class EventType(models.TextChoices):
    """Every event TSKR emits to webhooks and lists at GET /events. Later features add theirs here."""

    CHAT_CREATED = "chat.created"
    CHAT_MESSAGE_CREATED = "chat.message.created"
    CHAT_PROCESSED = "chat.processed"
    CHAT_JOB_SUCCEEDED = "chat.job.succeeded"
    CHAT_JOB_FAILED = "chat.job.failed"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_STATUS_CHANGED = "task.status_changed"
    TASK_DELETED = "task.deleted"
    MEETING_BOOKED = "meeting.booked"
    MEETING_RESCHEDULED = "meeting.rescheduled"
    MEETING_CANCELLED = "meeting.cancelled"
    MESSAGE_OUTBOUND = "message.outbound"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_REJECTED = "approval.rejected"
    APPROVAL_EXPIRED = "approval.expired"
    REMINDER_DUE = "reminder.due"
    FOLLOWUP_DUE = "followup.due"
    MEMORY_CREATED = "memory.created"
    MEMORY_UPDATED = "memory.updated"
    MEMORY_DELETED = "memory.deleted"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_DELETED = "contact.deleted"
    CONTACTS_IMPORTED = "contacts.imported"
    IDENTIFIER_SYNC_SUCCEEDED = "identifier.sync.succeeded"
    IDENTIFIER_SYNC_FAILED = "identifier.sync.failed"
    IDENTIFIER_OAUTH_REAUTHORIZATION_REQUIRED = "identifier.oauth.reauthorization_required"
    WEBHOOK_TEST = "webhook.test"


class Webhook(TimeStampedModel):
    """An account's HTTP endpoint that receives its events, signed with the endpoint's secret.

    The secret is stored as given to the integrator (it must be usable to sign) and shown only on
    create and rotation. During a rotation `previous_secret` keeps signing too, until
    `previous_secret_expires_at`. `failing_since` is the first failure of the current run of failed
    attempts (cleared by a success): an endpoint failing for TSKR_WEBHOOK_DISABLE_AFTER_DAYS is disabled.
    """

    id = PublicIdField("whk")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self):
        return f"{self.url} ({self.id})"

    def receives(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class Event(models.Model):
    """Something that happened in an account, written in the same transaction as the change (the outbox).

    `dispatched_at` is set once the event has been fanned out into one delivery per matching endpoint;
    events still undispatched are picked up by the sweep. Kept TSKR_EVENT_RETENTION_DAYS for GET /events.
    """

    id = PublicIdField("evt")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=100, choices=EventType.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"]), models.Index(fields=["dispatched_at", "created_at"])]

    def __str__(self):
        return f"{self.type} ({self.id})"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint: the delivery log, retried until it succeeds or fails.

    A worker claims a delivery by setting `claimed_until` with a conditional UPDATE; a worker that dies
    mid-attempt leaves a claim that expires, and the sweep takes the delivery again (at-least-once).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = PublicIdField("whd")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_deliveries")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["webhook", "created_at"]), models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.event_id} -> {self.webhook_id} ({self.status})"
