from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tskr.api.fields import HttpURLField, JSONObjectField, OptionalURLField, TimezoneField
from tskr.api.rows import RowShape
from tskr.api.serializers import DeletedSerializer, InputSerializer
from tskr.scoping import scoped

from ..models import TRANSITIONS, Activity, Approval, Meeting, ScheduledAction, Task
from ..selectors import task_get, task_next_action
from ..services import TASK_TYPE_PATTERN, TASK_TYPE_RULE


class UserRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.EmailField()
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")


class TaskSerializer(serializers.ModelSerializer):
    """A task without its embedded collections: list items and write responses."""

    owner = UserRefSerializer(allow_null=True)
    followers = UserRefSerializer(many=True)
    assistantId = serializers.CharField(source="assistant_id", allow_null=True)
    parentId = serializers.CharField(source="parent_id", allow_null=True)
    sourceChatId = serializers.CharField(source="source_chat_id", allow_null=True)
    templateId = serializers.CharField(source="template_id", allow_null=True)
    dueAt = serializers.DateTimeField(source="due_at", allow_null=True)
    allowedTransitions = serializers.ListField(
        source="allowed_transitions", child=serializers.ChoiceField(choices=Task.Status.choices),
        help_text="Statuses this task may move to next with PUT")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Task
        fields = ["id", "title", "description", "status", "type", "summary", "metadata", "owner", "followers",
                  "assistantId", "parentId", "sourceChatId", "templateId", "dueAt", "allowedTransitions",
                  "createdAt", "updatedAt"]
        read_only_fields = fields


_ALLOWED_TRANSITIONS = {str(status): [str(target) for target in targets] for status, targets in TRANSITIONS.items()}

#: The task list's fast path (tskr/api/rows.py): `TaskSerializer`'s output for `.values()` rows, the followers
#: given by `selectors.task_followers` (link rows, the user's columns under `user__`).
TASK_ROWS = RowShape(TaskSerializer, related_prefixes={"followers": "user__"}, computed={
    "allowedTransitions": lambda row: list(_ALLOWED_TRANSITIONS[row["status"]])})


def _column(obj, column: str):
    """The value `.values(column)` reads, from a loaded instance (`owner__email` -> `obj.owner.email`)."""
    for part in column.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def task_item(task: Task) -> dict:
    """`TaskSerializer(task).data` of one loaded task (owner selected, followers prefetched), built as
    `TASK_ROWS` builds list items: the tasks' webhook events serialize a task twice on the write path."""
    row = {column: _column(task, column) for column in TASK_ROWS.columns}
    followers = [{column: _column(user, column.removeprefix("user__"))
                  for column in TASK_ROWS.related_columns["followers"]} for user in task.followers.all()]
    return TASK_ROWS.build([row], followers={task.id: followers})[0]


class FileSerializer(serializers.Serializer):
    """An attachment by reference: TSKR stores the link, not the bytes."""

    url = HttpURLField()
    name = serializers.CharField(max_length=300, required=False, allow_blank=True)
    mimeType = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ActorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="user or assistant")
    id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)


class ActivitySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    files = FileSerializer(many=True)
    metadata = serializers.DictField(help_text="Details by type, e.g. {\"from\", \"to\"} of a status change")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Activity
        fields = ["id", "type", "content", "actor", "files", "metadata", "createdAt"]
        read_only_fields = fields

    @extend_schema_field(ActorSerializer(allow_null=True))
    def get_actor(self, activity: Activity) -> dict | None:
        """Who did it: a user, an assistant, or (for engine replies on tasks without one) a nameless assistant."""
        if activity.actor_user is not None:
            user = activity.actor_user
            return {"type": "user", "id": user.id, "name": user.full_name, "email": user.email}
        if activity.actor_assistant is not None:
            assistant = activity.actor_assistant
            return {"type": "assistant", "id": assistant.id, "name": assistant.name, "email": assistant.email}
        if activity.metadata.get("role") == "assistant":
            return {"type": "assistant", "id": None, "name": "Assistant", "email": ""}
        return None


class AttendeeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(allow_blank=True)


class ProposedSlotSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class MeetingSerializer(serializers.ModelSerializer):
    taskId = serializers.CharField(source="task_id")
    start = serializers.DateTimeField(source="start_at")
    end = serializers.DateTimeField(source="end_at")
    attendees = AttendeeSerializer(many=True)
    meetingType = serializers.ChoiceField(source="meeting_type", choices=Meeting.Type.choices)
    conferenceLink = OptionalURLField(source="meeting_link",
                                      help_text="Meet/Teams link the provider created, the zoom link, or empty")
    link = OptionalURLField(source="meeting_link", help_text="Same as conferenceLink (its name before booking)")
    calendarId = serializers.CharField(source="calendar_id", allow_null=True,
                                       help_text="Null: booked in TSKR only (invite with the .ics)")
    providerEventId = serializers.CharField(source="provider_event_id", help_text="Empty until written")
    htmlLink = OptionalURLField(source="html_link", help_text="The event in the provider's web calendar")
    status = serializers.ChoiceField(choices=Meeting.Status.choices, help_text=(
        "booked; pending while the provider write is unconfirmed (finished by the sweep); cancelled; proposed: "
        "times the scheduling agent offered (`slots`), holding no one's time. scheduled/completed: meetings "
        "recorded before booking existed"))
    slots = ProposedSlotSerializer(many=True, help_text=(
        "A proposed meeting's offered times, numbered as the participants saw them (start/end of the meeting "
        "are the first one's); empty otherwise"))
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Meeting
        fields = ["id", "taskId", "title", "start", "end", "timezone", "attendees", "meetingType", "location",
                  "conference", "conferenceLink", "link", "calendarId", "providerEventId", "htmlLink", "status",
                  "slots", "sequence", "createdAt", "updatedAt"]
        read_only_fields = fields


class NextActionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ScheduledAction.Kind.choices)
    dueAt = serializers.DateTimeField(source="due_at")


class TaskDetailSerializer(TaskSerializer):
    """`GET /tasks/:id`: the task with its subtasks, its history (oldest first), its meetings and the next
    thing the assistant is scheduled to do for it."""

    subtasks = TaskSerializer(many=True)
    activities = ActivitySerializer(many=True)
    meetings = MeetingSerializer(many=True)
    nextAction = serializers.SerializerMethodField(help_text=(
        "The task's next scheduled action (a reminder at `dueAt`, a follow-up), null when none is scheduled"))

    class Meta(TaskSerializer.Meta):
        fields = TaskSerializer.Meta.fields[:-2] + ["subtasks", "activities", "meetings", "nextAction", "createdAt",
                                                    "updatedAt"]
        read_only_fields = fields

    @extend_schema_field(NextActionSerializer(allow_null=True))
    def get_nextAction(self, task: Task) -> dict | None:
        action = task_next_action(task_id=task.id)
        return None if action is None else NextActionSerializer(action).data


class ImageFileSerializer(FileSerializer):
    def validate_mimeType(self, value):
        if value and not value.startswith("image/"):
            raise serializers.ValidationError("Only images can be attached when processing a task")
        return value


type_field_kwargs = {"regex": TASK_TYPE_PATTERN, "max_length": 64,
                     "error_messages": {"invalid": f"Type {TASK_TYPE_RULE}"}}


class TaskUpdateSerializer(InputSerializer):
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=20000)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    type = serializers.RegexField(required=False, **type_field_kwargs)
    summary = serializers.CharField(allow_blank=True, required=False, max_length=20000)
    metadata = JSONObjectField(required=False)
    dueAt = serializers.DateTimeField(source="due_at", allow_null=True, required=False)
    ownerId = serializers.CharField(source="owner_id", allow_null=True, required=False, max_length=40,
                                    help_text="A user of the account, or null for no owner")
    followerIds = serializers.ListField(source="follower_ids", child=serializers.CharField(max_length=40),
                                        required=False, max_length=100,
                                        help_text="Replaces the whole follower list")


class TaskCreateSerializer(TaskUpdateSerializer):
    title = serializers.CharField(max_length=300, required=False,
                                  help_text="Required unless templateId is given (then it overrides the template's)")
    type = serializers.RegexField(required=False, help_text="Default: task (or the template's type)",
                                  **type_field_kwargs)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False,
                                     help_text="Default: pending (or the template's default status)")
    ownerId = serializers.CharField(source="owner_id", allow_null=True, required=False, max_length=40,
                                    help_text="A user of the account; defaults to the calling user")
    parentId = serializers.CharField(source="parent_id", required=False, max_length=40,
                                     help_text="Makes the new task a subtask of this task")
    assistantId = serializers.CharField(source="assistant_id", required=False, max_length=40)
    templateId = serializers.CharField(source="template_id", required=False, max_length=40,
                                       help_text="Build the task (and one subtask per step) from a catalog template")
    templateContext = JSONObjectField(source="context", required=False,
                                      help_text="Values for the template's {placeholders}, e.g. {\"city\": \"Paris\"}")

    def validate(self, attrs):
        if not attrs.get("title") and not attrs.get("template_id"):
            raise serializers.ValidationError({"title": ["This field is required."]})
        if "context" in attrs and not attrs.get("template_id"):
            raise serializers.ValidationError({"templateContext": ["Only allowed with templateId."]})
        return attrs


class TaskProcessSerializer(InputSerializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    files = ImageFileSerializer(many=True, required=False, max_length=20)


class TaskProcessResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    message = serializers.CharField(help_text="The assistant's reply, also stored as a message activity")


class CommentCreateSerializer(InputSerializer):
    content = serializers.CharField(max_length=20000)
    files = FileSerializer(many=True, required=False, max_length=20)


@extend_schema_field({"oneOf": [{"type": "string", "format": "email"},
                                   {"type": "object", "properties": {"email": {"type": "string", "format": "email"},
                                                                     "name": {"type": "string"}},
                                    "required": ["email"]}]})
class AttendeeField(serializers.Field):
    """An attendee as `"a@x.test"` or `{"email", "name"?}`."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = {"email": data}
        if not isinstance(data, dict) or set(data) - {"email", "name"}:
            raise serializers.ValidationError('Expected an email or {"email", "name"}')
        person = AttendeeSerializer(data={"name": "", **data})
        person.is_valid(raise_exception=True)
        return dict(person.validated_data)


class MeetingRescheduleSerializer(InputSerializer):
    title = serializers.CharField(max_length=300, required=False)
    start = serializers.DateTimeField(source="start_at", required=False)
    end = serializers.DateTimeField(source="end_at", required=False)
    timezone = TimezoneField(required=False, allow_blank=False)
    attendees = serializers.ListField(child=AttendeeField(), required=False, max_length=200)
    location = serializers.CharField(max_length=500, required=False, allow_blank=True)
    force = serializers.BooleanField(required=False, help_text="Book over synced events and preference rules "
                                                               "(never over another TSKR meeting)")


class MeetingCreateSerializer(InputSerializer):
    title = serializers.CharField(max_length=300, required=False, help_text="Default: the task's title")
    start = serializers.DateTimeField(source="start_at", help_text="Any offset; stored in UTC")
    end = serializers.DateTimeField(source="end_at", required=False, help_text="Or `duration`")
    duration = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False, help_text=(
        "Minutes, instead of `end`. Default: the owner's defaults.<meetingType>.duration"))
    timezone = TimezoneField(required=False, allow_blank=False, source="timezone_name",
                             help_text="IANA zone the event is written in. Default: the owner's")
    attendees = serializers.ListField(child=AttendeeField(), required=False, max_length=200)
    meetingType = serializers.ChoiceField(source="meeting_type", choices=Meeting.Type.choices, required=False)
    location = serializers.CharField(max_length=500, required=False, allow_blank=True)
    conference = serializers.ChoiceField(choices=Meeting.Conference.choices, required=False, help_text=(
        "Default: defaults.virtual.conferenceSolution (none for in-person). zoom uses "
        "defaults.virtual.defaultMeetingLink unless `link` is given"))
    link = serializers.URLField(source="meeting_link", max_length=1000, required=False, allow_blank=True,
                                help_text="A meeting link written into the event (e.g. zoom)")
    calendarId = serializers.CharField(source="calendar_id", max_length=40, required=False, help_text=(
        "One of the owner's calendars (cal_...). Default: their calendars.write preference, else their primary "
        "writable calendar, else none (booked in TSKR only)"))
    sendUpdates = serializers.BooleanField(source="send_updates", required=False, default=True)
    force = serializers.BooleanField(required=False, default=False, help_text=(
        "Book over synced events and preference rules (never over another TSKR meeting)"))

    def validate(self, attrs):
        if "end_at" in attrs and "duration" in attrs:
            raise serializers.ValidationError({"duration": ["Give end or duration, not both."]})
        return attrs


class ActivityEnvelopeSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    activity = ActivitySerializer()


class MeetingEnvelopeSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    meeting = MeetingSerializer()


class MeetingDeletedEnvelopeSerializer(serializers.Serializer):
    envelope = True
    ok = serializers.BooleanField()
    meeting = DeletedSerializer()


def tasks_as_listed(*, account, task_ids: list[str]) -> list[dict]:
    """The tasks `task_ids` of `account` as `GET /tasks` lists them, in that order (missing ones left out)."""
    tasks = {task.id: task for task in task_get(queryset=scoped(Task, account=account)).filter(id__in=task_ids)}
    return [TaskSerializer(tasks[task_id]).data for task_id in task_ids if task_id in tasks]


class ApprovalSerializer(serializers.ModelSerializer):
    """An action held for its task owner's decision (`payload`: the message or meeting as it will run)."""

    taskId = serializers.CharField(source="task_id")
    chatId = serializers.CharField(source="chat_id", allow_null=True)
    payload = serializers.DictField(help_text=(
        "send_message: {content, to, cc, subject, inReplyTo}; book_meeting: {start, end, timezone, title, "
        "attendees, meetingType}; reschedule_meeting: {meetingId, start, end}; cancel_meeting: {meetingId}"))
    result = serializers.DictField(allow_null=True, help_text="Once approved: {messageId} or {meetingId}")
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    decidedBy = serializers.CharField(source="decided_by_id", allow_null=True)

    class Meta:
        model = Approval
        fields = ["id", "taskId", "chatId", "kind", "status", "payload", "result", "reason", "createdAt",
                  "expiresAt", "decidedAt", "decidedBy"]
        read_only_fields = fields


class ApprovalApproveSerializer(InputSerializer):
    content = serializers.CharField(required=False, max_length=100_000, help_text=(
        "send_message only: the message as it should go, replacing the assistant's draft"))


class ApprovalRejectSerializer(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ApprovalEnvelopeSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    approval = ApprovalSerializer()
