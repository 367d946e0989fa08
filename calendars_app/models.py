from django.db import models

from tskr.infra.ids import PublicIdField
from tskr.models import TimeStampedModel

from . import crypto


class Platform(models.TextChoices):
    GOOGLE = "google"
    AZURE = "azure"


class OAuthAccess(TimeStampedModel):
    """OAuth tokens an identifier granted TSKR on one provider, encrypted at rest (`calendars_app.crypto`).

    The provider's incremental-sync cursors that belong to the whole grant (Google's calendarList sync
    token, the contacts sync token or Graph delta link) are kept here; per-calendar event cursors are
    on `Calendar`.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        NEEDS_RECONSENT = "needs_reconsent"

    id = PublicIdField("oauth")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="oauth_accesses")
    identifier = models.ForeignKey("directory.UserIdentifier", on_delete=models.CASCADE,
                                   related_name="oauth_accesses")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.CharField(max_length=500, blank=True)
    calendars_sync_token = models.TextField(blank=True)
    contacts_sync_token = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["identifier", "platform"], name="oauth_access_unique")]
        verbose_name = "OAuth access"
        verbose_name_plural = "OAuth accesses"

    def __str__(self):
        return f"{self.platform} access of {self.identifier_id}"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted) if self.refresh_token_encrypted else ""


class Calendar(TimeStampedModel):
    """A calendar as the provider knows it, one row per (account, platform, provider id).

    Several identifiers of the account may see the same calendar; each sees it through a UserCalendar.
    `last_sync_token` is the provider's cursor over the calendar's events (Google `nextSyncToken`,
    Graph `@odata.deltaLink`).
    """

    id = PublicIdField("cal")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="calendars")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    reference_id = models.CharField(max_length=1024)
    name = models.CharField(max_length=500, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    background_color = models.CharField(max_length=16, blank=True)
    conference_solutions = models.JSONField(default=list, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_token = models.TextField(blank=True)
    sync_error = models.BooleanField(default=False)
    #: the occurrence window of the last full round (recurring series are expanded inside it); a
    #: round from the cursor keeps it, a full round (when the window has aged) moves it forward
    events_window_start = models.DateTimeField(null=True, blank=True)
    events_window_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "platform", "reference_id"],
                                               name="calendar_unique_reference")]

    def __str__(self):
        return f"{self.name or self.reference_id} ({self.platform})"


class UserCalendar(TimeStampedModel):
    """The link user + calendar + identifier through which the calendar was synced, with the access role."""

    class Role(models.TextChoices):
        OWNER = "owner"
        WRITER = "writer"
        READER = "reader"

    id = PublicIdField("ucal")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="user_calendars")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="user_calendars")
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="links")
    identifier = models.ForeignKey("directory.UserIdentifier", on_delete=models.CASCADE,
                                   related_name="user_calendars")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READER)
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "identifier"], name="user_calendar_unique")]
        indexes = [models.Index(fields=["account", "user"])]

    def __str__(self):
        return f"{self.calendar_id} via {self.identifier_id}"


class CalendarEvent(models.Model):
    """One occurrence of a provider event in the sync window: a single event, or one instance of a
    recurring series (series are expanded by the provider, exceptions applied), with what availability
    needs: when, busy or free, confirmed/tentative/cancelled and the synced user's own response.

    `start`/`end` are UTC instants; an all-day occurrence also keeps its local dates (`end_date`
    exclusive, as both providers send it), since its instants depend on whose day it is.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed"
        TENTATIVE = "tentative"
        CANCELLED = "cancelled"

    class Transparency(models.TextChoices):
        OPAQUE = "opaque"  # busy
        TRANSPARENT = "transparent"  # free

    class ResponseStatus(models.TextChoices):
        ACCEPTED = "accepted"
        TENTATIVE = "tentative"
        DECLINED = "declined"
        NEEDS_ACTION = "needsAction"

    id = PublicIdField("cev")
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    provider_id = models.CharField(max_length=1024)
    title = models.CharField(max_length=500, blank=True)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    transparency = models.CharField(max_length=16, choices=Transparency.choices, default=Transparency.OPAQUE)
    response_status = models.CharField(max_length=16, choices=ResponseStatus.choices,
                                       default=ResponseStatus.ACCEPTED)
    has_conference = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "provider_id"], name="calendar_event_unique")]
        indexes = [models.Index(fields=["calendar", "start"])]

    def __str__(self):
        return self.provider_id
