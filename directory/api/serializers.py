from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSerializer
from tskr.api.fields import JSONObjectField, StringListField, TimezoneField
from tskr.api.serializers import InputSerializer

from .. import preferences
from ..models import Contact, Memory, UserIdentifier
from ..validation import ContactImportRowSerializer


def _choice_field(choices: type[models.TextChoices], **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose error names the allowed values."""
    return serializers.ChoiceField(choices=choices.choices, error_messages={
        "invalid_choice": f"\"{{input}}\" is not allowed; use one of: {', '.join(choices.values)}"}, **kwargs)


# -- memories ---------------------------------------------------------------------------------

class MemorySerializer(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Memory
        fields = ["id", "title", "content", "type", "tags", "metadata", "createdAt", "updatedAt"]
        read_only_fields = fields


class MemoryUpdateSerializer(InputSerializer):
    title = serializers.CharField(max_length=500, required=False)
    content = serializers.CharField(max_length=100_000, required=False)
    type = _choice_field(Memory.Type, required=False)
    tags = StringListField(required=False)
    metadata = JSONObjectField(required=False)


class MemoryCreateSerializer(MemoryUpdateSerializer):
    title = serializers.CharField(max_length=500)
    content = serializers.CharField(max_length=100_000)
    type = _choice_field(Memory.Type, required=False, help_text="Default: note")


# -- contacts ---------------------------------------------------------------------------------

class ContactSerializer(serializers.ModelSerializer):
    linkedUserId = serializers.CharField(source="linked_user_id", allow_null=True,
                                         help_text="The registered user of the account this contact's email "
                                                   "belongs to, if any")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Contact
        fields = ["id", "name", "email", "emails", "phone", "company", "title", "timezone", "notes", "tags",
                  "metadata", "linkedUserId", "createdAt", "updatedAt"]
        read_only_fields = fields


class ContactUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=300, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True,
                                   help_text="Unique among your contacts (case-insensitive)")
    emails = serializers.ListField(child=serializers.EmailField(max_length=254), max_length=50, required=False,
                                   help_text="Additional email addresses")
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    company = serializers.CharField(max_length=300, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    timezone = TimezoneField(required=False)
    notes = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    tags = StringListField(required=False)
    metadata = JSONObjectField(required=False)


class ContactCreateSerializer(ContactUpdateSerializer):
    name = serializers.CharField(max_length=300)


class _ParsedJSONValue(serializers.Field):
    """Any non-null value of an already parsed JSON body, as it is (JSONField would re-encode each one)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class ContactsBulkImportInputSerializer(InputSerializer):
    """Items are validated one by one by the service, so one bad item does not fail the request."""

    contacts = serializers.ListField(child=_ParsedJSONValue(), allow_empty=True)


class ContactImportItemSerializer(ContactImportRowSerializer):
    """As documented: items are checked one by one, so an invalid item is reported, not refused."""

    email = serializers.EmailField(max_length=254, required=False,
                                   help_text="Needed to import the item (matched case-insensitively); an item "
                                             "without a valid email is reported in `errors`")
    emails = serializers.ListField(child=serializers.CharField(), required=False,
                                   help_text="Additional email addresses (at most 50 valid ones; otherwise the item "
                                             "is reported in `errors`)")


class ContactsBulkImportSerializer(serializers.Serializer):
    contacts = ContactImportItemSerializer(many=True, help_text="At most 1000 items (more: 400 too_many_contacts)")


class ImportErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in `contacts`")
    email = serializers.CharField(allow_null=True)
    error = serializers.CharField()


class ContactsImportResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Items reaching a contact an earlier item already created or "
                                                 "updated (same email, or a shared address): their fields are "
                                                 "ignored, their new addresses added to that contact")
    errors = ImportErrorSerializer(many=True)


class ContactsImportResponseSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    contacts = ContactsImportResultSerializer()


# -- identifiers ------------------------------------------------------------------------------

class IdentifierUserSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(source="full_name")
    status = serializers.CharField()


class IdentifierSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account_id")
    user = IdentifierUserSerializer(allow_null=True)
    value = serializers.CharField(source="display_value", help_text=(
        "As created (a phone keeps its spelling); matched on its normalised form: emails lower-cased, "
        "phones E.164"))
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = UserIdentifier
        fields = ["id", "account", "user", "type", "value", "label", "verified", "primary", "metadata",
                  "platforms", "createdAt", "updatedAt"]
        read_only_fields = fields


PLATFORMS_HELP = ("OAuth grants per platform (google, azure): {\"google\": {\"accessGranted\": "
                  "[\"calendars.read\", \"calendars.write\", \"contacts.read\"]}}. On update, platforms are "
                  "merged one by one; null removes a platform.")


class IdentifierUpdateSerializer(InputSerializer):
    label = serializers.CharField(max_length=200, required=False, allow_blank=True)
    verified = serializers.BooleanField(required=False)
    primary = serializers.BooleanField(required=False, help_text="true on a linked identifier makes it the user's "
                                                                 "primary of its type (for email: as make-primary)")
    metadata = JSONObjectField(required=False)
    platforms = JSONObjectField(required=False, help_text=PLATFORMS_HELP)


class IdentifierCreateSerializer(IdentifierUpdateSerializer):
    type = _choice_field(UserIdentifier.Type)
    value = serializers.CharField(max_length=320, help_text=(
        "Emails are lower-cased. Phones must be international (+ and the country code) and of a possible "
        "length for their country (else 400 `validation_error`); they keep their spelling and are matched "
        "and kept unique on their E.164 form"))
    userId = serializers.CharField(required=False, allow_null=True, help_text=(
        "User of the account to link to. Omitted: the calling user for a delegated token, unlinked for a "
        "management token; null: unlinked"))


class MakePrimaryResponseSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    user = UserSerializer()
    identifier = IdentifierSerializer()


# -- preferences ------------------------------------------------------------------------------

# anyOf, not oneOf: the skill is named by the path, and a sparse object may fit several schemas.
@extend_schema_field({"anyOf": [{"$ref": f"#/components/schemas/{serializer_class.__name__.removesuffix('Serializer')}"}
                                for serializer_class in preferences.SKILL_SERIALIZERS.values()]})
class SkillPreferencesField(serializers.JSONField):
    """The preferences of the skill named in the path (its schema is one of the four)."""


class AllSkillPreferencesSerializer(serializers.Serializer):
    scheduling = preferences.SchedulingPreferencesSerializer()
    reminders = preferences.RemindersPreferencesSerializer()
    followups = preferences.FollowupsPreferencesSerializer()
    travel = preferences.TravelPreferencesSerializer()


class IdentifierPreferencesSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="null until something was set")
    account = serializers.CharField()
    userIdentifier = serializers.CharField()
    preferences = AllSkillPreferencesSerializer()
    createdAt = serializers.DateTimeField(allow_null=True)
    updatedAt = serializers.DateTimeField(allow_null=True)


class IdentifierPreferencesResponseSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    preferences = IdentifierPreferencesSerializer()


class SkillPreferencesResponseSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    skill = serializers.ChoiceField(choices=preferences.SKILLS)
    preferences = SkillPreferencesField()


class SkillPreferencesInputSerializer(InputSerializer):
    """The PUT body's envelope; its content is validated per skill by the service."""

    preferences = serializers.JSONField()


class SkillPreferencesRequestSerializer(serializers.Serializer):
    preferences = SkillPreferencesField(help_text="Only the keys to change: merged into what is stored")
