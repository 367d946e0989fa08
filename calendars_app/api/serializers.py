from rest_framework import serializers

from tskr.serializers import InputSerializer

from ..models import OAuthAccess, Platform, UserCalendar
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
