from rest_framework import serializers

from tskr.fields import OptionalURLField, TimezoneField
from tskr.serializers import InputSerializer, StrictKeysSerializer

from ..models import Assistant, User


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

