from django.db import models

from tskr.infra.ids import PublicIdField
from tskr.models import TimeStampedModel


class UserIdentifier(TimeStampedModel):
    """A handle by which a user is reached on some platform (email address, phone, Slack id...).

    `value` is the form identifiers are matched on, unique per (account, type): emails lower-cased,
    phones in E.164 (`+14155550100`, see directory.phones). `value_as_given` keeps a phone's spelling
    as the client wrote it (`+1 (415) 555-0100`) for display; blank when it equals `value`.
    `platforms` records OAuth grants per provider, e.g. `{"google": {"accessGranted": ["calendars.read"]}}`.

    `proven_by_token` marks an email identifier that a signed token proved to be its user's: created
    from a delegated token's email (auto-provisioning), or the user's primary email before a
    make-primary. Tokens carrying such an address log in as its user; a client-created identifier,
    even `verified`, never does until it becomes the primary email (see accounts.services).
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
    # db_default: servers still running the previous release insert identifiers without this column
    value_as_given = models.CharField(max_length=320, blank=True, default="", db_default="")
    label = models.CharField(max_length=200, blank=True)
    verified = models.BooleanField(default=False)
    primary = models.BooleanField(default=False)
    proven_by_token = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    platforms = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "type", "value"], name="identifier_unique_per_account_type"),
            models.UniqueConstraint(fields=["user", "type"], condition=models.Q(primary=True),
                                    name="identifier_one_primary_per_user_type"),
        ]
        indexes = [models.Index(fields=["account", "user"])]

    def __str__(self):
        return f"{self.type}:{self.value}"

    @property
    def display_value(self) -> str:
        """The value as the client wrote it (the API's `value`)."""
        return self.value_as_given or self.value


class IdentifierPreferences(TimeStampedModel):
    """The skill preferences stored for one identifier: `data` maps a skill name to what was set.

    Only explicitly set values are stored; defaults are filled in on read (directory.preferences),
    so a changed default reaches everybody who never chose otherwise.
    """

    id = PublicIdField("pref")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    user_identifier = models.OneToOneField(UserIdentifier, on_delete=models.CASCADE, related_name="preferences")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "identifier preferences"

    def __str__(self):
        return f"preferences of {self.user_identifier_id}"


class Memory(TimeStampedModel):
    """Something the assistant should remember about its user: a note, preference, fact or context.

    Personal data: private to its user, deleted with them. PostgreSQL-only indexes (trigram search
    on title/content, GIN on tags) are created by migration 0003 and skipped on SQLite.
    """

    class Type(models.TextChoices):
        NOTE = "note"
        PREFERENCE = "preference"
        FACT = "fact"
        CONTEXT = "context"

    id = PublicIdField("mem")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="memories")
    title = models.CharField(max_length=500)
    content = models.TextField()
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.NOTE)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Not indexed alone (as TimeStampedModel does): every read is one user's, in the order of the index
    # `memory_user_newest_first`, and a lone created_at index lures the planner into scanning every
    # user's memories backwards when one user holds a large share of them.
    created_at = models.DateTimeField(auto_now_add=True)
    # Declared again after created_at: Django stamps auto_now fields in field order, and the inherited
    # updated_at would come first (reading the clock before created_at does), giving createdAt > updatedAt.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "memories"
        indexes = [
            # the list's order (newest first, id breaking ties): a deep page is read from the index alone
            models.Index(fields=["account", "user", "-created_at", "-id"], name="memory_user_newest_first"),
            models.Index(fields=["account", "user", "type"]),
        ]

    def __str__(self):
        return self.title


class Contact(TimeStampedModel):
    """Somebody a user deals with (from their address book or a provider sync).

    Personal data: private to its user, deleted with them. `email` is the lower-cased primary address,
    unique among the user's contacts when set; `emails` holds additional lower-cased addresses.
    `linked_user` is the registered user of the account the contact's email belongs to, if any.
    """

    id = PublicIdField("contact")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="contacts")
    linked_user = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="contact_links")
    name = models.CharField(max_length=300)
    email = models.CharField(max_length=254, blank=True)
    emails = models.JSONField(default=list, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=300, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], condition=~models.Q(email=""),
                                    name="contact_email_unique_per_user"),
        ]
        indexes = [models.Index(fields=["account", "user", "created_at"])]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.email else self.name
