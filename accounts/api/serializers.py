from rest_framework import serializers

from tskr.api.fields import OptionalURLField, TimezoneField
from tskr.api.serializers import InputSerializer, StrictKeysSerializer

from ..models import Assistant, Event, EventType, User, Webhook, WebhookDelivery


class UserSerializer(serializers.ModelSerializer):
    avatar = OptionalURLField(help_text="Avatar image URL, or empty")
    externalId = serializers.CharField(source="external_id", allow_null=True)
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = User
        fields = ["id", "email", "externalId", "firstName", "lastName", "avatar", "timezone", "status",
                  "createdAt", "updatedAt"]
        read_only_fields = fields


class UserUpdateSerializer(InputSerializer):
    firstName = serializers.CharField(source="first_name", max_length=150, allow_blank=True, required=False)
    lastName = serializers.CharField(source="last_name", max_length=150, allow_blank=True, required=False)
    avatar = serializers.URLField(max_length=1000, allow_blank=True, required=False)
    timezone = TimezoneField(required=False)
    externalId = serializers.CharField(source="external_id", max_length=200, allow_null=True, allow_blank=True,
                                       required=False)
    status = serializers.ChoiceField(choices=User.Status.choices, required=False)


class UserCreateSerializer(UserUpdateSerializer):
    email = serializers.EmailField(max_length=254)


class WritingStyleSerializer(StrictKeysSerializer):
    professionalism = serializers.IntegerField(min_value=0, max_value=10, required=False)
    humor = serializers.IntegerField(min_value=0, max_value=10, required=False)
    emojiUse = serializers.IntegerField(min_value=0, max_value=10, required=False)


class AssistantSerializer(serializers.ModelSerializer):
    writingStyle = serializers.JSONField(source="writing_style")
    agentId = serializers.CharField(source="agent_id", allow_null=True,
                                    help_text="The catalog agent driving the assistant; null means the default agent")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Assistant
        fields = ["id", "name", "email", "personality", "signature", "status", "writingStyle", "agentId",
                  "createdAt", "updatedAt"]
        read_only_fields = fields


class AssistantUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    personality = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    signature = serializers.CharField(allow_blank=True, required=False, max_length=2000)
    writingStyle = WritingStyleSerializer(source="writing_style", required=False)
    status = serializers.ChoiceField(choices=Assistant.Status.choices, required=False)
    agentId = serializers.CharField(source="agent_id", max_length=40, allow_null=True, required=False,
                                    help_text="An active agent's id (GET /admin/agents); null for the default agent. "
                                              "400 `unknown_agent` / `agent_inactive` otherwise")


class AssistantCreateSerializer(AssistantUpdateSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)


class AssistantDeletedSerializer(serializers.Serializer):
    """`DELETE /assistants/:id` answers a top-level message (a contract quirk kept on purpose)."""

    envelope = True
    ok = serializers.BooleanField()
    message = serializers.CharField()



class WebhookSerializer(serializers.ModelSerializer):
    """An endpoint as listed and read: the secret is never shown here."""

    events = serializers.ListField(child=serializers.CharField(),
                                   help_text='Event types sent to this endpoint, or ["*"] for all')
    disabledReason = serializers.CharField(source="disabled_reason",
                                           help_text="Why TSKR disabled the endpoint (410 Gone, or days of failures); "
                                                     "empty when enabled or disabled by the account")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "description", "enabled", "disabledReason", "createdAt", "updatedAt"]
        read_only_fields = fields


class WebhookWithSecretSerializer(WebhookSerializer):
    """An endpoint as answered on create and on rotation: the only times its secret is shown."""

    secret = serializers.CharField(help_text="whsec_<base64>: verify deliveries with it (Standard Webhooks)")

    class Meta(WebhookSerializer.Meta):
        fields = WebhookSerializer.Meta.fields + ["secret"]
        read_only_fields = fields


class WebhookUpdateSerializer(InputSerializer):
    url = serializers.CharField(max_length=2000, required=False,
                                help_text="https:// (http:// too with TSKR_WEBHOOKS_ALLOW_PRIVATE); public addresses "
                                          "only, else 400 `webhook_url_refused`")
    events = serializers.ListField(child=serializers.CharField(max_length=100), max_length=100, required=False,
                                   help_text='Event types, or ["*"] (default) for all; an unknown type is 400 '
                                             '`unknown_event_type` naming the known ones')
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    enabled = serializers.BooleanField(required=False)


class WebhookCreateSerializer(WebhookUpdateSerializer):
    url = serializers.CharField(max_length=2000, help_text=WebhookUpdateSerializer().fields["url"].help_text)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    eventId = serializers.CharField(source="event_id")
    eventType = serializers.ChoiceField(source="event.type", choices=EventType.choices)
    lastAttemptAt = serializers.DateTimeField(source="last_attempt_at", allow_null=True)
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    responseStatus = serializers.IntegerField(source="response_status", allow_null=True)
    responseBody = serializers.CharField(source="response_body",
                                         help_text="The first 1 KB of the answer, or why there was none")
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "eventId", "eventType", "status", "attempts", "lastAttemptAt", "nextAttemptAt",
                  "responseStatus", "responseBody", "durationMs", "createdAt"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """An event exactly as a webhook delivery's body carries it."""

    type = serializers.ChoiceField(choices=EventType.choices)
    timestamp = serializers.DateTimeField(source="created_at")
    data = serializers.JSONField(help_text="The resource as the API returns it; each type's schema is the "
                                           "`WebhookEvent.<type>` component (`WebhookEventPayload`)")

    class Meta:
        model = Event
        fields = ["id", "type", "timestamp", "data"]
        read_only_fields = fields


class WebhookReplaySerializer(InputSerializer):
    since = serializers.DateTimeField(help_text="ISO 8601: re-send the events at or after this moment")


class WebhookReplayResultSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    replayed = serializers.IntegerField(help_text="How many deliveries were queued")


class WebhookTestResultSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    delivery = WebhookDeliverySerializer()
