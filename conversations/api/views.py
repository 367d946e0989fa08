from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Assistant
from tskr.api.permissions import IsDelegated, IsManagement
from tskr.api.renderers import Envelope
from tskr.api.sse import EventStreamNegotiation, accepts_event_stream, event_stream_response
from tskr.api.viewsets import ScopedViewSet, deleted
from tskr.exceptions import NotFound

from .. import selectors, services
from ..filters import ChatFilter
from ..models import Chat, Message
from .pagination import WindowCountPagination
from .streaming import process_events
from .serializers import (
    MessagesClearedSerializer,
    ChatCreateSerializer,
    ChatJobEnvelopeSerializer,
    ChatJobSerializer,
    ChatSerializer,
    ChatUpdateSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    MessageUpdateSerializer,
    ProcessRequestSerializer,
    ProcessResultSerializer,
    UsageQuerySerializer,
    UsageSerializer,
    process_body,
    usage_body,
    CHAT_ROWS,
    MESSAGE_ROWS,
)

METADATA_FILTER_DESCRIPTION = ("Filter on metadata with any number of `metadata.<key>=<value>` query parameters, "
                               "e.g. `metadata.source=dashboard-chat`; values are compared as text.")

PROCESS_DESCRIPTION = """Answer the chat's latest user message with the assistant's engine.

Holds a per-chat lock (30 s TTL, never waited for): a second call meanwhile answers 409 `chat_processing`.
- Each inbound message is answered once: when the latest user message was processed already (a gateway
  retry, a double click), nothing is created and the answer is that processing's stored body plus
  `"replayed": true`. Post a new message to get a new answer.
- An inactive assistant answers nothing: 409 `assistant_inactive` (a replay is still returned).
- Ignore check: when the message reached more than one human and does not address the assistant (its email in
  `to`, or its name or email mentioned), the engine may leave it: `{"message": null, "taskIds": [], "ignored": true}`.
- Email replies go `to` the sender, `cc` the other humans (reply-all), with `subject` "Re: ..." (never stacked).
  Other platforms: `to` everyone, and `content`.
- A task in `needs_clarification` sends the reply to the sender only.
- Email with tasks (none needing clarification): `{"message": null, "taskIds": [...], "suppressed": true}`.
- A reply that is sent is stored as an assistant message (its `id` is in `message.id`).
- A message that continues an open task of this chat (a slot picked, another time, "none of these work", an
  answered question; the owner calling the task off, a meeting moved, a trip's dates given) is acted on by the
  task's agent: `message` is what it sent (proposed times, a confirmation), `taskIds` the task; while
  supervision holds the action, `message` is null and `approvalId` names the approval. 409 `task_processing`
  when another step holds the task (nothing written; retry). A change the sender may not make (someone
  else's task) is answered as any other message.
- Nothing is written on failure: 503 `ai_unavailable`, 504 `ai_timeout`, 502 `ai_bad_response`.
- `{"async": true}` queues the same work and answers 202 `{"ok": true, "job": {...}}`; poll
  `GET /chats/:chatId/jobs/:jobId` until `status` is `succeeded` (`result` is exactly the synchronous body,
  `ok` included) or `failed`. Every async call for the same latest message answers the same job while it is
  queued, running or succeeded (a message answered synchronously gets a job already `succeeded` with the
  replayed body); after a `failed` job, a new call queues a new one.
- `Accept: text/event-stream` (without `async`) answers `200 text/event-stream`: Server-Sent Events, each
  with `id:` 1, 2, 3... and one line of JSON `data:`. See the text/event-stream response below.
"""

STREAM_DESCRIPTION = """Sent when the request accepts `text/event-stream`. Events, in order:
- `start`: `{"chatId", "messageId"}` (the inbound message being answered);
- `delta`: `{"text"}`, pieces of the reply as the engine writes them; joined, they are `message.content`. None
  when no reply is sent (`ignored`, `suppressed`); for email and for group messages the engine may ignore,
  they come only once the outcome is stored. A replay sends its stored reply as one `delta`;
- `task`: `{"task"}`, each task of the outcome (as `GET /tasks` lists it);
- `done`: exactly the synchronous JSON body (`ok` included);
- or `error`: `{"error", "error_code"}` (e.g. `ai_unavailable`, `ai_timeout`, `ai_bad_response`, `lock_expired`)
  in place of `done`; nothing was stored.

A comment line `: ping` is written after 15 s without an event (`TSKR_STREAM_PING_SECONDS`). Refusals before
the stream starts (401, 404, 400 `nothing_to_process`, 409 `chat_processing` / `assistant_inactive`) are ordinary
JSON error responses. A client that disconnects does not stop the run: its result is stored, and calling again
replays it."""


class ChatViewSet(ScopedViewSet):
    """Delegated API: the account's chats (account-wide: every user of the account sees them)."""

    envelope_key, envelope_list_key = "chat", "chats"
    permission_classes = [IsDelegated]
    queryset = Chat.objects.all()
    serializer_class = ChatSerializer
    lookup_url_kwarg = "chat_id"
    filterset_class = ChatFilter

    def narrow_queryset(self, queryset):
        if self.action == "process":
            return selectors.chat_for_processing(queryset=queryset)
        return selectors.chat_list(queryset=queryset)

    @extend_schema(responses=ChatSerializer(many=True),
                   description="Chats without their messages, newest activity (last message, else creation) first. "
                               + METADATA_FILTER_DESCRIPTION)
    def list(self, request):
        page = self.paginate_rows(self.filter_queryset(self.get_queryset()), CHAT_ROWS.columns)
        return self.get_paginated_response(CHAT_ROWS.build(page))

    @extend_schema(request=ChatCreateSerializer, responses={201: ChatSerializer},
                   description="An inactive assistant takes no new chats: 400 `assistant_inactive`.")
    def create(self, request):
        data = ChatCreateSerializer.validated(request.data)
        assistant = self.get_scoped(Assistant, "Assistant not found", id=data.pop("assistant_id"))
        chat = services.chat_create(account=self.account, actor=self.acting_user, assistant=assistant, **data)
        return Response(ChatSerializer(chat).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ChatSerializer)
    def retrieve(self, request, chat_id=None):
        return Response(ChatSerializer(self.get_object()).data)

    @extend_schema(request=ChatUpdateSerializer, responses=ChatSerializer,
                   description="Rename, archive (`status`) or merge metadata.")
    def update(self, request, chat_id=None):
        chat = services.chat_update(chat=self.get_object(), **ChatUpdateSerializer.validated(request.data))
        return Response(ChatSerializer(chat).data)

    @extend_schema(description="Delete a chat and its messages; tasks created from it are kept.")
    def destroy(self, request, chat_id=None):
        services.chat_delete(chat=self.get_object())
        return Response(deleted(chat_id, "Chat deleted successfully"))

    @extend_schema(request=ProcessRequestSerializer, description=PROCESS_DESCRIPTION,
                   responses={(200, "application/json"): OpenApiResponse(
                                  response=ProcessResultSerializer,
                                  description="The outcome as JSON, or with `Accept: text/event-stream` as events"),
                              (200, "text/event-stream"): OpenApiResponse(
                                  response={"type": "string", "description": STREAM_DESCRIPTION}),
                              202: ChatJobEnvelopeSerializer,
                              502: OpenApiResponse(description="The AI engine answered something unusable"),
                              504: OpenApiResponse(description="The AI engine did not answer in time")})
    @action(detail=True, methods=["post"], content_negotiation_class=EventStreamNegotiation)
    def process(self, request, chat_id=None):
        chat = self.get_object()
        if ProcessRequestSerializer.validated(request.data)["run_async"]:
            job = services.chat_process_enqueue(chat=chat, actor=self.acting_user)
            job.refresh_from_db()  # eager mode (no broker) has already run it
            return Response(Envelope({"job": ChatJobSerializer(job).data}), status=status.HTTP_202_ACCEPTED)
        if accepts_event_stream(request):
            started = services.chat_process_start(chat=chat)
            return event_stream_response(process_events(started), ping_seconds=settings.TSKR_STREAM_PING_SECONDS)
        return Response(Envelope(process_body(services.chat_process(chat=chat))))

    @extend_schema(responses=ChatJobEnvelopeSerializer, description="Poll an asynchronous process job.")
    @action(detail=True, methods=["get"], url_path=r"jobs/(?P<job_id>[^/]+)")
    def job(self, request, chat_id=None, job_id=None):
        job = selectors.chat_job_get(chat=self.get_object(), job_id=job_id)
        if job is None:
            raise NotFound("Job not found")
        return Response(Envelope({"job": ChatJobSerializer(job).data}))


class MessageViewSet(ScopedViewSet):
    """Delegated API: the messages of one chat, oldest first."""

    envelope_key, envelope_list_key = "message", "messages"
    permission_classes = [IsDelegated]
    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    lookup_url_kwarg = "message_id"
    pagination_class = WindowCountPagination

    @property
    def chat(self) -> Chat:
        if not hasattr(self, "_chat"):
            self._chat = self.get_scoped(Chat, "Chat not found", id=self.kwargs["chat_id"])
        return self._chat

    def narrow_queryset(self, queryset):
        # A list's rows prove the chat is the account's (WindowCountPagination asks `check_parent` only for an
        # empty page); one message is looked for once its chat is found, so a foreign chat is "Chat not found".
        chat_id = self.kwargs["chat_id"] if self.action == "list" else self.chat.id
        return selectors.message_list(queryset=queryset, chat_id=chat_id)

    def check_parent(self):
        """For WindowCountPagination: a 404 when the chat is not in the account (only asked on an empty page)."""
        self.chat  # noqa: B018 (the lookup raises NotFound)

    @extend_schema(responses=MessageSerializer(many=True))
    def list(self, request, chat_id=None):
        # One query for a non-empty page: its rows prove the chat is the account's, and carry the total.
        page = self.paginate_rows(self.get_queryset(), MESSAGE_ROWS.columns)
        return self.get_paginated_response(MESSAGE_ROWS.build(page))

    @extend_schema(request=MessageCreateSerializer, responses={201: MessageSerializer})
    def create(self, request, chat_id=None):
        message = services.message_add(chat=self.chat, actor=self.acting_user,
                                       **MessageCreateSerializer.validated(request.data))
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=MessageSerializer)
    def retrieve(self, request, chat_id=None, message_id=None):
        return Response(MessageSerializer(self.get_object()).data)

    @extend_schema(request=MessageUpdateSerializer, responses=MessageSerializer)
    def update(self, request, chat_id=None, message_id=None):
        message = services.message_update(message=self.get_object(),
                                          **MessageUpdateSerializer.validated(request.data))
        return Response(MessageSerializer(message).data)

    def destroy(self, request, chat_id=None, message_id=None):
        services.message_delete(message=self.get_object())
        return Response(deleted(message_id, "Message deleted successfully"))

    @extend_schema(operation_id="chats_messages_clear", description="Delete every message of the chat.",
                   responses=MessagesClearedSerializer)
    def clear(self, request, chat_id=None):
        services.messages_clear(chat=self.chat)
        return Response(Envelope({"messages": deleted(self.chat.id, "All messages cleared successfully")}))


class UsageViewSet(ScopedViewSet):
    """Management API: what the account's assistant engine calls cost, aggregated in one query."""

    envelope_key = "usage"
    permission_classes = [IsManagement]
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[UsageQuerySerializer], responses=UsageSerializer, description=(
        "Engine calls (chat and task processing) of the account from `from` to `to` (UTC days, both included), "
        "grouped by day, assistant or model: calls, tokens as the provider reported them, estimated cost "
        "(TSKR_MODEL_PRICES), outcomes and latency percentiles. Management token only."))
    def summary(self, request):
        query = UsageQuerySerializer.validated(request.query_params)
        rows = selectors.usage_summary(account=self.account, prices=settings.TSKR_MODEL_PRICES, **query)
        return Response(usage_body(rows=rows, **query))
