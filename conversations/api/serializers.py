from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from tskr.api.fields import FileEntryField, JSONObjectField
from tskr.api.rows import RowShape
from tskr.api.serializers import DeletedSerializer, InputSerializer

from ..models import Chat, ChatJob, Message
from ..selectors import USAGE_GROUPS
from ..services import ProcessOutcome

_ADDRESS_LIST_KEYS = ("to", "cc", "participants")
_TEXT_KEYS = ("from", "subject")


class ChatAssistantSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()


class ChatSerializer(serializers.ModelSerializer):
    messageCount = serializers.IntegerField(source="message_count")
    assistant = ChatAssistantSerializer(allow_null=True, help_text="null once the assistant was deleted")
    lastMessageAt = serializers.DateTimeField(source="last_message_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Chat
        fields = ["id", "title", "status", "messageCount", "assistant", "metadata", "lastMessageAt", "createdAt",
                  "updatedAt"]
        read_only_fields = fields


#: The chat list's fast path (tskr/api/rows.py): `ChatSerializer`'s output for `.values()` rows.
CHAT_ROWS = RowShape(ChatSerializer)


class ChatCreateSerializer(InputSerializer):
    assistantId = serializers.CharField(source="assistant_id", max_length=40)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                  help_text="Generated when omitted, then replaced by the first user message")
    metadata = JSONObjectField(required=False)


class ChatUpdateSerializer(InputSerializer):
    title = serializers.CharField(max_length=300, required=False)
    status = serializers.ChoiceField(choices=Chat.Status.choices, required=False)
    metadata = JSONObjectField(required=False, help_text="Merged key by key into the existing metadata")


class MessageMetadataField(JSONObjectField):
    """Free-form, but the addressing keys a gateway posts must have their documented shapes:
    `from`, `subject`: strings; `to`, `cc`, `participants`: a list of strings (or one string)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        errors = {}
        for key in _TEXT_KEYS:
            if key in value and not isinstance(value[key], str):
                errors[key] = ["Must be a string"]
        for key in _ADDRESS_LIST_KEYS:
            if key in value and not (isinstance(value[key], str) or (
                    isinstance(value[key], list) and all(isinstance(item, str) for item in value[key]))):
                errors[key] = ["Must be a list of strings"]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class MessageSerializer(serializers.ModelSerializer):
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Message
        fields = ["id", "role", "platform", "content", "files", "timestamp", "metadata", "updatedAt"]
        read_only_fields = fields


#: The message list's fast path (tskr/api/rows.py): `MessageSerializer`'s output for `.values()` rows.
MESSAGE_ROWS = RowShape(MessageSerializer)


class MessageUpdateSerializer(InputSerializer):
    content = serializers.CharField(required=False, max_length=100_000)
    files = serializers.ListField(child=FileEntryField(), max_length=50, required=False,
                                  help_text="Attachments by reference: objects with an http(s) `url`, at most 50")
    metadata = MessageMetadataField(required=False, help_text="Merged key by key into the existing metadata")


class MessageCreateSerializer(MessageUpdateSerializer):
    content = serializers.CharField(max_length=100_000)
    role = serializers.ChoiceField(choices=Message.Role.choices, default=Message.Role.USER)
    platform = serializers.ChoiceField(choices=Message.Platform.choices, default=Message.Platform.CHAT)
    metadata = MessageMetadataField(
        required=False,
        help_text="Email: `from`, `to`, `cc`, `subject`; other platforms: `from`, `participants`. "
                  "These decide the audience and the reply's recipients when the chat is processed.")


class ProcessRequestSerializer(InputSerializer):
    """Optional body of `POST /chats/:id/process`; an empty body processes synchronously."""

    async_ = serializers.BooleanField(source="run_async", default=False, required=False,
                                      help_text="Queue the work for a worker and answer 202 with a job to poll")

    def get_fields(self):
        fields = super().get_fields()
        fields["async"] = fields.pop("async_")
        return fields


class ReplySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The stored assistant message")
    to = serializers.ListField(child=serializers.CharField())
    cc = serializers.ListField(child=serializers.CharField(), required=False, help_text="Email only")
    subject = serializers.CharField(required=False, help_text="Email only")
    content = serializers.CharField()
    platform = serializers.ChoiceField(choices=Message.Platform.choices)


class ProcessResultSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    message = ReplySerializer(allow_null=True, help_text=(
        "null when ignored or suppressed, or while the answer is held for approval (`approvalId`). A message that "
        "continues an open task answers with what the task's agent sent (proposed times, a confirmation)"))
    taskIds = serializers.ListField(child=serializers.CharField())
    approvalId = serializers.CharField(required=False, help_text=(
        "Present when the message continued a supervised task and what it would send or book is held as an "
        "approval (`message` is then null): decide it with POST /approvals/:id/approve or /reject"))
    ignored = serializers.BooleanField(required=False, help_text="Present (true) when the message was not meant "
                                                                  "for the assistant")
    suppressed = serializers.BooleanField(required=False, help_text="Present (true) for an email with tasks: the "
                                                                     "tasks carry the conversation on")
    replayed = serializers.BooleanField(required=False, help_text="Present (true) when the message had been "
                                                                   "processed already: the stored body of that "
                                                                   "processing, nothing was created")


class JobErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    error_code = serializers.CharField()


def process_body(outcome: ProcessOutcome) -> dict:
    """The contract's body of a processing (without `ok`): for `POST /chats/:id/process`, a job's result and
    anything else that answers with it. `ignored`, `suppressed` and `replayed` appear only when true, `approvalId` only when set."""
    body = {"message": outcome.message, "taskIds": outcome.task_ids}
    if outcome.approval_id:
        body["approvalId"] = outcome.approval_id
    if outcome.ignored:
        body["ignored"] = True
    if outcome.suppressed:
        body["suppressed"] = True
    if outcome.replayed:
        body["replayed"] = True
    return body


class JobResultField(serializers.JSONField):
    """A succeeded job's stored outcome as the synchronous body, `ok` included, plus the engine's usage."""

    def to_representation(self, value):
        outcome = ProcessOutcome.from_record(value)
        return {"ok": True, **process_body(outcome), "usage": outcome.usage}


class ChatJobSerializer(serializers.ModelSerializer):
    chatId = serializers.CharField(source="chat_id")
    result = JobResultField(allow_null=True, help_text=(
        "Once succeeded, exactly the synchronous process body (ok, message, taskIds, ignored, suppressed, "
        "replayed), plus `usage`: the engine call's `{inputTokens, outputTokens, cacheReadTokens, "
        "cacheWriteTokens}`"))
    error = JobErrorSerializer(allow_null=True, help_text=(
        "Once failed: the process error (e.g. `chat_processing`, `ai_unavailable`), or `job_lost` when the "
        "worker running it died"))
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = ChatJob
        fields = ["id", "chatId", "status", "attempts", "result", "error", "createdAt", "updatedAt", "finishedAt"]
        read_only_fields = fields


class ChatJobEnvelopeSerializer(serializers.Serializer):
    """`{"ok": true, "job": {...}}`: the 202 of an asynchronous process call, and the poll answer."""

    envelope = True
    ok = serializers.BooleanField()
    job = ChatJobSerializer()


class MessagesClearedSerializer(serializers.Serializer):
    """`DELETE /chats/:id/messages`: the contract puts the delete body under `messages`."""

    envelope = True
    ok = serializers.BooleanField()
    messages = DeletedSerializer()


class UsageQuerySerializer(InputSerializer):
    """Query of `GET /usage`: UTC days, both included; by default the last 30 days by day."""

    from_ = serializers.DateField(required=False, source="start",
                                  help_text="First day (YYYY-MM-DD, UTC); default: 29 days before `to`")
    to = serializers.DateField(required=False, source="end", help_text="Last day, included (YYYY-MM-DD, UTC); default: today")
    groupBy = serializers.ChoiceField(choices=["day", "assistant", "model"], default="day", required=False,
                                      source="group_by")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs):
        end = attrs.get("end") or timezone.now().date()
        start = attrs.get("start") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"from": ["Must not be after `to`."]})
        return {"start": start, "end": end, "group_by": attrs.get("group_by", "day")}


class UsageGroupSerializer(serializers.Serializer):
    group = serializers.CharField(allow_null=True, help_text=(
        "The day (YYYY-MM-DD), the assistant's id (null for calls without one) or the model name"))
    calls = serializers.IntegerField(help_text="Engine calls (chat and task processing), errors included")
    inputTokens = serializers.IntegerField()
    outputTokens = serializers.IntegerField()
    cacheReadTokens = serializers.IntegerField()
    cacheWriteTokens = serializers.IntegerField()
    estimatedCost = serializers.FloatField(help_text="USD, from the TSKR_MODEL_PRICES table (0 for unpriced models)")
    messagesProcessed = serializers.IntegerField(help_text="Chat calls that did not fail")
    replies = serializers.IntegerField()
    ignored = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    tasksCreated = serializers.IntegerField()
    errors = serializers.IntegerField()
    latencyMsP50 = serializers.FloatField(allow_null=True, help_text="Median engine call time, in milliseconds")
    latencyMsP95 = serializers.FloatField(allow_null=True)


class UsageSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    groupBy = serializers.CharField()
    currency = serializers.CharField()
    groups = UsageGroupSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


def usage_body(*, start, end, group_by: str, rows: list[dict]) -> dict:
    """The selector's rows as the API's groups (`group` first, cost to the micro-dollar)."""
    column = USAGE_GROUPS[group_by]
    groups = []
    for row in rows:
        group = row.pop(column)
        row["estimatedCost"] = round(row["estimatedCost"], 6)
        for name in ("latencyMsP50", "latencyMsP95"):
            row[name] = None if row[name] is None else round(row[name], 1)
        groups.append({"group": group.isoformat() if group_by == "day" else group, **row})
    return {"from": start.isoformat(), "to": end.isoformat(), "groupBy": group_by, "currency": "USD", "groups": groups}
