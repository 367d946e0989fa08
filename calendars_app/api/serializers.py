from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from rest_framework import serializers

from tskr.api.serializers import InputSerializer

from ..availability.slots import EmptyReason, IssueReason
from ..models import CalendarEvent, OAuthAccess, Platform, UserCalendar
from ..selectors import MAX_WINDOW
from ..providers.base import ACCESS_NAMES


class CalendarSerializer(serializers.ModelSerializer):
    """A calendar as one identifier sees it (the contract's Calendar Schema): calendar fields plus the
    link's `role`, `isPrimary` and `userIdentifier`."""

    id = serializers.CharField(source="calendar.id")
    account = serializers.CharField(source="calendar.account_id")
    platform = serializers.ChoiceField(source="calendar.platform", choices=Platform.choices)
    name = serializers.CharField(source="calendar.name")
    timezone = serializers.CharField(source="calendar.timezone")
    referenceId = serializers.CharField(source="calendar.reference_id")
    backgroundColor = serializers.CharField(source="calendar.background_color")
    conferenceSolutions = serializers.ListField(source="calendar.conference_solutions", child=serializers.CharField())
    lastSyncedAt = serializers.DateTimeField(source="calendar.last_synced_at", allow_null=True)
    lastSyncToken = serializers.CharField(source="calendar.last_sync_token")
    syncError = serializers.BooleanField(source="calendar.sync_error")
    eventCount = serializers.IntegerField(source="calendar.event_count")
    isPrimary = serializers.BooleanField(source="is_primary")
    userIdentifier = serializers.CharField(source="identifier_id")
    createdAt = serializers.DateTimeField(source="calendar.created_at")
    updatedAt = serializers.DateTimeField(source="calendar.updated_at")

    class Meta:
        model = UserCalendar
        fields = ["id", "account", "platform", "name", "timezone", "referenceId", "backgroundColor",
                  "conferenceSolutions", "lastSyncedAt", "lastSyncToken", "syncError", "eventCount", "role",
                  "isPrimary", "userIdentifier", "createdAt", "updatedAt"]
        read_only_fields = fields


class PlatformInputSerializer(InputSerializer):
    platform = serializers.ChoiceField(choices=Platform.choices)


class OAuthAccessSerializer(serializers.ModelSerializer):
    """The state of a grant. Tokens are never part of any response."""

    identifierId = serializers.CharField(source="identifier_id")
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    needsReconsent = serializers.SerializerMethodField()
    hasRefreshToken = serializers.SerializerMethodField()
    lastError = serializers.CharField(source="last_error")
    lastSyncedAt = serializers.DateTimeField(source="last_synced_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = OAuthAccess
        fields = ["id", "identifierId", "platform", "status", "needsReconsent", "scopes", "expiresAt",
                  "hasRefreshToken", "lastError", "lastSyncedAt", "createdAt", "updatedAt"]
        read_only_fields = fields

    def get_needsReconsent(self, access) -> bool:
        return access.status == OAuthAccess.Status.NEEDS_RECONSENT

    def get_hasRefreshToken(self, access) -> bool:
        return bool(access.refresh_token_encrypted)


TOKEN_PATTERN = r"^[\x21-\x7e]+$"


class OAuthTokensInputSerializer(InputSerializer):
    # Tokens travel in HTTP headers and form bodies: visible ASCII only (RFC 6750 b64token and wider).
    accessToken = serializers.RegexField(TOKEN_PATTERN, source="access_token", max_length=8192,
                                         error_messages={"invalid": "Must be visible ASCII characters"})
    refreshToken = serializers.RegexField(TOKEN_PATTERN, source="refresh_token", max_length=8192, required=False,
                                          allow_blank=True, error_messages={"invalid": "Must be visible ASCII characters"})
    expiresAt = serializers.DateTimeField(source="expires_at", required=False, allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField(max_length=500), required=False, max_length=50,
                                   help_text="The provider scopes the tokens carry")


class OAuthConnectInputSerializer(InputSerializer):
    access = serializers.ListField(
        child=serializers.ChoiceField(choices=ACCESS_NAMES), required=False, allow_empty=False,
        help_text="What to ask consent for; defaults to the identifier's platforms.<platform>.accessGranted, "
                  "else calendars.read")


class OAuthConnectSerializer(serializers.Serializer):
    authUrl = serializers.URLField(help_text="Send the user's browser here to consent")
    platform = serializers.ChoiceField(choices=Platform.choices)
    identifierId = serializers.CharField()
    access = serializers.ListField(child=serializers.CharField())
    expiresAt = serializers.DateTimeField(help_text="The signed state in authUrl is refused after this time")


class SyncErrorSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    resource = serializers.ChoiceField(choices=["oauth", "calendars", "events", "contacts"])
    errorCode = serializers.CharField()
    error = serializers.CharField()
    calendarId = serializers.CharField(required=False, help_text="Set when only this calendar's events failed")


class SyncResultSerializer(serializers.Serializer):
    calendarsSynced = serializers.IntegerField()
    contactsSynced = serializers.IntegerField()
    errors = SyncErrorSerializer(many=True)


class SyncResourcesSerializer(serializers.Serializer):
    message = serializers.CharField()
    identifierId = serializers.CharField()
    userId = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["completed", "queued"])
    result = SyncResultSerializer(required=False, help_text="Present when the sync ran inline (status completed)")


# -- occurrences, availability, conflicts -------------------------------------------------------------

class CalendarEventSerializer(serializers.ModelSerializer):
    """One occurrence. All-day: `start`/`end` are its local dates at 00:00Z (`end` exclusive)."""

    calendarId = serializers.CharField(source="calendar_id")
    allDay = serializers.BooleanField(source="all_day")
    busy = serializers.SerializerMethodField(help_text="false when the event is marked free (Google transparency "
                                                       "transparent, Graph showAs free/workingElsewhere)")
    responseStatus = serializers.ChoiceField(source="response_status", choices=CalendarEvent.ResponseStatus.choices,
                                             help_text="The calendar owner's own answer")
    hasConference = serializers.BooleanField(source="has_conference")

    class Meta:
        model = CalendarEvent
        fields = ["id", "calendarId", "title", "start", "end", "allDay", "status", "busy", "responseStatus",
                  "hasConference"]
        read_only_fields = fields

    def get_busy(self, event) -> bool:
        return event.transparency == CalendarEvent.Transparency.OPAQUE


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise serializers.ValidationError("Not an IANA timezone (e.g. Europe/Paris)") from None
    return value


class TimeRangeQuerySerializer(InputSerializer):
    start = serializers.DateTimeField(help_text="ISO 8601; without an offset it is UTC")
    end = serializers.DateTimeField(help_text="ISO 8601, after start")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start"]})
        return attrs


class CalendarEventQuerySerializer(TimeRangeQuerySerializer):
    calendarId = serializers.CharField(required=False, max_length=40, help_text="Only this calendar's events")


class ConflictsQuerySerializer(TimeRangeQuerySerializer):
    userId = serializers.CharField(required=False, max_length=254,
                                   help_text="A user of the account (id or email); default the caller")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["end"] - attrs["start"] > MAX_WINDOW:
            raise serializers.ValidationError({"end": [f"At most {MAX_WINDOW.days} days after start"]})
        return attrs


class AvailabilityInputSerializer(InputSerializer):
    start = serializers.DateTimeField(required=False, help_text="Default now")
    end = serializers.DateTimeField(required=False, help_text=f"Default start + 14 days; at most "
                                                              f"{MAX_WINDOW.days} days after start")
    duration = serializers.IntegerField(required=False, min_value=1, max_value=1440,
                                        help_text="Minutes; default the first participant's defaults.virtual "
                                                  "or defaults.inPerson duration, by meetingType")
    meetingType = serializers.ChoiceField(choices=["virtual", "inPerson"], default="virtual", source="meeting_type")
    participants = serializers.ListField(child=serializers.CharField(max_length=254), required=False,
                                         allow_empty=False, max_length=20,
                                         help_text="User ids or emails of users of the account; default the caller")
    interval = serializers.IntegerField(default=30, min_value=5, max_value=1440,
                                        help_text="Minutes between slot starts; starts are multiples of it after "
                                                  "local midnight in `timezone` (from the hour when it divides 60)")
    timezone = serializers.CharField(required=False, max_length=64, validators=[_zone],
                                     help_text="IANA zone of localStart/localEnd and of the slot grid; default the "
                                               "caller's timezone, else UTC")
    minimumNotice = serializers.IntegerField(default=0, min_value=0, max_value=525_600, source="minimum_notice",
                                             help_text="Minutes from now before the first slot")
    limit = serializers.IntegerField(default=50, min_value=1, max_value=500)

    def validate(self, attrs):
        start = attrs.setdefault("start", timezone.now())
        end = attrs.setdefault("end", start + timedelta(days=14))
        if end <= start:
            raise serializers.ValidationError({"end": ["Must be after start"]})
        if end - start > MAX_WINDOW:
            raise serializers.ValidationError({"end": [f"At most {MAX_WINDOW.days} days after start"]})
        return attrs


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    localStart = serializers.CharField(help_text="start in the requested timezone, ISO 8601 with its offset")
    localEnd = serializers.CharField()


class AvailabilityParticipantSerializer(serializers.Serializer):
    userId = serializers.CharField()
    timezone = serializers.CharField(help_text="The user's timezone, else their primary calendar's, else UTC")
    calendars = serializers.ListField(child=serializers.CharField(), help_text="Calendar ids whose events were read")
    lastSyncedAt = serializers.DateTimeField(allow_null=True, help_text="The oldest sync among those calendars "
                                                                        "(null when one never synced)")
    syncError = serializers.BooleanField(help_text="The last sync of one of those calendars failed")


class AvailabilityResultSerializer(serializers.Serializer):
    timezone = serializers.CharField()
    duration = serializers.IntegerField()
    slots = SlotSerializer(many=True)
    emptyReason = serializers.ChoiceField(choices=EmptyReason.choices, allow_null=True,
                                          help_text="Why there is no slot (the first stage that left none); "
                                                    "null when there are slots")
    participants = AvailabilityParticipantSerializer(many=True)


class ConflictEventSerializer(serializers.Serializer):
    eventId = serializers.CharField(required=False, help_text="A synced occurrence (reason busy)")
    meetingId = serializers.CharField(required=False, help_text="A meeting TSKR booked (reason booked)")
    calendarId = serializers.CharField(allow_null=True, help_text="Null for a meeting booked in TSKR only")
    title = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=["busy", "booked"])


class ConflictIssueSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=IssueReason.choices)


class ConflictsSerializer(serializers.Serializer):
    hasConflict = serializers.BooleanField(help_text="A busy event overlaps, or a rule is broken (issues)")
    events = ConflictEventSerializer(many=True)
    issues = ConflictIssueSerializer(many=True)
