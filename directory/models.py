from django.db import models

from tskr.ids import PublicIdField
from tskr.models import TimeStampedModel


class UserIdentifier(TimeStampedModel):
    """A handle by which a user is reached on some platform (email address, phone, Slack id...).

    Values are stored normalised and are unique per (account, type). `platforms` records OAuth
    grants per provider, e.g. `{"google": {"accessGranted": ["calendars.read"]}}`.
    """

    class Type(models.TextChoices):
        EMAIL = "email"
        PHONE = "phone"
        SLACK = "slack"
        TEAMS = "teams"
        EXTERNAL_ID = "external_id"

    id = PublicIdField("id")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="identifiers")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="identifiers")
    type = models.CharField(max_length=32, choices=Type.choices)
    value = models.CharField(max_length=320)
    label = models.CharField(max_length=200, blank=True)
    verified = models.BooleanField(default=False)
    primary = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    platforms = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "type", "value"], name="identifier_unique_per_account_type"),
        ]
        indexes = [models.Index(fields=["account", "user"])]

    def __str__(self):
        return f"{self.type}:{self.value}"
