from django.db import models
from django.db.models.functions import Lower

from tskr.ids import PublicIdField
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
