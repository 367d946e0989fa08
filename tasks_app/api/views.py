from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from tskr.api.permissions import IsDelegated
from tskr.api.renderers import Envelope
from tskr.api.viewsets import ScopedViewSet, deleted

from .. import selectors, services
from ..filters import TaskFilter
from ..ics import meeting_ics
from ..models import TRANSITIONS, Task
from .serializers import (
    ActivityEnvelopeSerializer,
    ActivitySerializer,
    CommentCreateSerializer,
    MeetingCreateSerializer,
    MeetingDeletedEnvelopeSerializer,
    MeetingEnvelopeSerializer,
    MeetingRescheduleSerializer,
    MeetingSerializer,
    TaskCreateSerializer,
    TaskDetailSerializer,
    TaskProcessResultSerializer,
    TaskProcessSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    TASK_ROWS,
)

TRANSITION_TABLE = "; ".join(f"`{source}` -> {', '.join(f'`{t}`' for t in targets)}"
                             for source, targets in TRANSITIONS.items())
MEETING_ID = OpenApiParameter("meeting_id", str, OpenApiParameter.PATH, description="A meeting of the task (mtg_...)")
PROVIDER_FAILED = OpenApiResponse(description=(
    "`calendar_provider_error`: the calendar provider failed (5xx, timeout, unreachable). The meeting stays "
    "`pending` and a periodic sweep finishes it with the same provider ids (never a second event)"))
LIFECYCLE_DOC = (
    f"Allowed status transitions: {TRANSITION_TABLE}. Keeping the same status is always accepted. "
    "An illegal change answers 409 `invalid_transition` with `details.status` listing the allowed targets. "
    "Every status change, every edit of title/description and every change of owner/followers writes an "
    "activity naming who did it."
)


class TaskViewSet(ScopedViewSet):
    """Delegated API: the account's tasks. Management tokens get 403 `user_context_required`, because
    every change is recorded with the user who made it and `mine` needs a user."""

    envelope_key, envelope_list_key = "task", "tasks"
    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    permission_classes = [IsDelegated]

    def narrow_queryset(self, queryset):
        if self.action == "retrieve":
            return selectors.task_detail(queryset=queryset)
        if self.action == "list":
            return selectors.task_list(queryset=queryset)
        return selectors.task_get(queryset=queryset)

    def _references(self, data: dict) -> dict:
        """Pop the body's IDs and return the rows they name (404 when not in the account)."""
        ids = {name: data.pop(name) for name in ("owner_id", "follower_ids", "parent_id", "assistant_id",
                                                 "template_id") if name in data}
        return selectors.task_references(account=self.account, **ids)

    @extend_schema(
        responses=TaskSerializer(many=True),
        description="All tasks of the account, newest first. `mine=true`: only those the caller owns or follows.",
        parameters=[OpenApiParameter("type", str, description="Task type (a slug such as task, scheduling)")],
    )
    def list(self, request):
        page = self.paginate_rows(self.filter_queryset(self.get_queryset()), TASK_ROWS.columns)
        followers = selectors.task_followers(task_ids=[row["id"] for row in page],
                                             columns=TASK_ROWS.related_columns["followers"])
        return self.get_paginated_response(TASK_ROWS.build(page, followers=followers))

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskSerializer}, description=(
        "Create a task. Beyond the contract: `ownerId` (default: the caller; null for none), `followerIds`, "
        "`parentId` (subtask), `assistantId`, `dueAt`, `summary`, `metadata`, and `templateId` (a catalog "
        "template builds the title, description, type, status and one subtask per step; fields given in the "
        "body override it; 404 `template_not_found`, 400 `template_inactive`). `type` is a slug: lowercase "
        "letters, digits, underscores, starting with a letter (task, scheduling, reminders...)."))
    def create(self, request):
        data = TaskCreateSerializer.validated(request.data)
        data.setdefault("owner_id", self.acting_user.id)
        refs = self._references(data)
        template = refs.pop("template", None)
        if template is not None:
            task = services.task_create_with_template(account=self.account, template=template,
                                                      actor_user=self.acting_user, **refs, **data)
        else:
            task = services.task_create(account=self.account, actor_user=self.acting_user, **refs, **data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=TaskDetailSerializer, description=(
        "The task with `subtasks` (oldest first), `activities` (its history, newest last) and `meetings` "
        "(by start time)."))
    def retrieve(self, request, pk=None):
        return Response(TaskDetailSerializer(self.get_object()).data)

    @extend_schema(request=TaskUpdateSerializer, responses=TaskSerializer, description=LIFECYCLE_DOC)
    def update(self, request, pk=None):
        data = TaskUpdateSerializer.validated(request.data)
        refs = self._references(data)
        task = services.task_update(task=self.get_object(), actor_user=self.acting_user, **refs, **data)
        return Response(TaskSerializer(task).data)

    @extend_schema(description="Delete the task with its subtasks, activities and meetings, in one transaction. "
                               "409 `task_processing` while the task is being processed.")
    def destroy(self, request, pk=None):
        services.task_delete(task=self.get_object())
        return Response(deleted(pk, "Task deleted successfully"))

    @extend_schema(request=TaskProcessSerializer, responses=TaskProcessResultSerializer, description=(
        "Store the message (and image files) as a message activity, run the assistant engine on the task "
        "(title, description, history, the owner's profile and preferences), store its reply as a message "
        "activity and apply the status it decides when the lifecycle allows it. One run per task at a time "
        "(30 s lock): 409 `task_processing` while held. On engine failure (503 `ai_unavailable`, 504 "
        "`ai_timeout`, 502 `ai_bad_response`) nothing is written."))
    @action(detail=True, methods=["post"], url_path="process")
    def process(self, request, pk=None):
        data = TaskProcessSerializer.validated(request.data)
        task, reply = services.task_process(task=self.get_object(), actor_user=self.acting_user, **data)
        return Response({"id": task.id, "message": reply.content})

    @extend_schema(request=CommentCreateSerializer, responses={201: ActivityEnvelopeSerializer},
                   description="Addition to the contract: add a comment to the task's history.")
    @action(detail=True, methods=["post"], url_path="activities")
    def activities(self, request, pk=None):
        task = self.get_object()  # before the body: another account's id is 404 whatever the body holds
        data = CommentCreateSerializer.validated(request.data)
        activity = services.task_comment_add(task=task, actor_user=self.acting_user, **data)
        return Response(Envelope({"activity": ActivitySerializer(activity).data}), status=status.HTTP_201_CREATED)

    @extend_schema(request=MeetingCreateSerializer, responses={201: MeetingEnvelopeSerializer, 502: PROVIDER_FAILED},
                   description=(
        "Book a meeting for the task's owner (the caller when the task has none): checked against the owner's "
        "availability with the meeting's own duration (409 `slot_unavailable` with `details.events` and "
        "`details.issues`, unless `force`), then written to their calendar as an event with the attendees and "
        "the conference (Meet on Google, Teams on Microsoft, a zoom link from preferences). With no writable "
        "calendar and no `calendarId` it is booked in TSKR only (`calendarId: null`; invite with the `.ics`). "
        "Errors: 404 `calendar_not_found`; 409 `calendar_not_writable`, `oauth_reauthorization_required`; 502 "
        "`calendar_provider_error` (the meeting stays `pending` and a periodic sweep finishes it, never twice)."))
    @action(detail=True, methods=["post"], url_path="meetings")
    def meetings(self, request, pk=None):
        task = self.get_object()
        data = MeetingCreateSerializer.validated(request.data)
        meeting = services.meeting_book(task=task, actor_user=self.acting_user, **data)
        return Response(Envelope({"meeting": MeetingSerializer(meeting).data}), status=status.HTTP_201_CREATED)

    @extend_schema(request=MeetingRescheduleSerializer, responses={200: MeetingEnvelopeSerializer,
                                                                   502: PROVIDER_FAILED},
                   parameters=[MEETING_ID], description=(
        "Reschedule or edit a meeting (start, end, title, attendees, location, timezone): the same provider "
        "event is patched, `sequence` goes up; the conflict check ignores the meeting itself. Errors as for "
        "booking, plus 404 `meeting_not_found` and 409 `meeting_not_active` (cancelled)."))
    @action(detail=True, methods=["put"], url_path=r"meetings/(?P<meeting_id>[^/.]+)")
    def meeting(self, request, pk=None, meeting_id=None):
        task = self.get_object()  # before the body: another account's id is 404 whatever the body holds
        data = MeetingRescheduleSerializer.validated(request.data)
        meeting = services.meeting_reschedule(task=task, meeting_id=meeting_id,
                                              actor_user=self.acting_user, **data)
        return Response(Envelope({"meeting": MeetingSerializer(meeting).data}))

    @extend_schema(responses={200: MeetingDeletedEnvelopeSerializer, 502: PROVIDER_FAILED}, parameters=[MEETING_ID],
                   description=(
        "Cancel the meeting at the provider (Google delete with sendUpdates, Graph cancel as organizer), then "
        "remove it."))
    @meeting.mapping.delete
    def meeting_delete(self, request, pk=None, meeting_id=None):
        services.meeting_cancel(task=self.get_object(), meeting_id=meeting_id, actor_user=self.acting_user, remove=True)
        return Response(Envelope({"meeting": deleted(meeting_id, "Meeting cancelled and deleted")}))

    @extend_schema(request=None, responses={200: MeetingEnvelopeSerializer, 502: PROVIDER_FAILED},
                   parameters=[MEETING_ID], description=(
        "Cancel the meeting at the provider (Google delete with sendUpdates, Graph cancel as organizer); the "
        "meeting stays, `cancelled`. Cancelling a cancelled meeting changes nothing."))
    @action(detail=True, methods=["post"], url_path=r"meetings/(?P<meeting_id>[^/.]+)/cancel")
    def meeting_cancel(self, request, pk=None, meeting_id=None):
        meeting = services.meeting_cancel(task=self.get_object(), meeting_id=meeting_id, actor_user=self.acting_user)
        return Response(Envelope({"meeting": MeetingSerializer(meeting).data}))

    @extend_schema(responses={(200, "text/calendar"): OpenApiTypes.STR}, parameters=[MEETING_ID], description=(
        "The meeting as an RFC 5545 invitation: METHOD:REQUEST (METHOD:CANCEL once cancelled), UID stable "
        "across reschedules, SEQUENCE, ORGANIZER, ATTENDEEs, DTSTART/DTEND with the meeting's TZID, the "
        "conference link."))
    @action(detail=True, methods=["get"], url_path=r"meetings/(?P<meeting_id>[^/.]+)/ics")
    def meeting_ics(self, request, pk=None, meeting_id=None):
        meeting = selectors.meeting_get(task=self.get_object(), meeting_id=meeting_id)
        return HttpResponse(meeting_ics(meeting), content_type="text/calendar; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{meeting.id}.ics"'})
