from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from tskr.api.permissions import ManagementWrites
from tskr.api.renderers import Envelope
from tskr.api.viewsets import ScopedViewSet, deleted

from .. import selectors, services
from ..filters import AssistantFilter, EventFilter, UserFilter, WebhookDeliveryFilter
from ..models import Assistant, Event, User, Webhook, WebhookDelivery
from .serializers import (
    AssistantCreateSerializer,
    AssistantDeletedSerializer,
    AssistantSerializer,
    AssistantUpdateSerializer,
    EventSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
    WebhookCreateSerializer,
    WebhookDeliverySerializer,
    WebhookReplayResultSerializer,
    WebhookReplaySerializer,
    WebhookSerializer,
    WebhookTestResultSerializer,
    WebhookUpdateSerializer,
    WebhookWithSecretSerializer,
)

MANAGEMENT_ONLY = "Needs a management token: a delegated token gets 403 `management_token_required`."


class UserViewSet(ScopedViewSet):
    """Management API: the account's users. Reads take either token kind, writes a management token."""

    envelope_key, envelope_list_key = "user", "users"
    permission_classes = [ManagementWrites]
    default_per_page = 50
    queryset = User.objects.all()
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def narrow_queryset(self, queryset):
        return selectors.user_list(queryset=queryset)

    @extend_schema(responses=UserSerializer(many=True))
    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), UserSerializer)

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer}, description=MANAGEMENT_ONLY + (
        " 409 `user_exists` when the email is a user's primary email or login alias."))
    def create(self, request):
        data = UserCreateSerializer.validated(request.data)
        user = services.user_create(account=self.account, **data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=UserSerializer)
    def retrieve(self, request, pk=None):
        return Response(UserSerializer(self.get_object()).data)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer, description=MANAGEMENT_ONLY)
    def update(self, request, pk=None):
        user = services.user_update(user=self.get_object(), **UserUpdateSerializer.validated(request.data))
        return Response(UserSerializer(user).data)

    @extend_schema(description=MANAGEMENT_ONLY)
    def destroy(self, request, pk=None):
        user = self.get_object()
        services.user_delete(user=user)
        return Response(deleted(pk, "User deleted successfully"))


class AssistantViewSet(ScopedViewSet):
    """Management API: the account's AI assistants. Reads take either token kind, writes a management token."""

    envelope_key, envelope_list_key = "assistant", "assistants"
    permission_classes = [ManagementWrites]
    queryset = Assistant.objects.all()
    serializer_class = AssistantSerializer
    filterset_class = AssistantFilter
    pagination_class = None

    def narrow_queryset(self, queryset):
        return selectors.assistant_list(queryset=queryset)

    @extend_schema(responses=AssistantSerializer(many=True))
    def list(self, request):
        return Response(AssistantSerializer(self.filter_queryset(self.get_queryset()), many=True).data)

    @extend_schema(request=AssistantCreateSerializer, responses={201: AssistantSerializer},
                   description=MANAGEMENT_ONLY)
    def create(self, request):
        assistant = services.assistant_create(account=self.account,
                                              **AssistantCreateSerializer.validated(request.data))
        return Response(AssistantSerializer(assistant).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=AssistantSerializer)
    def retrieve(self, request, pk=None):
        return Response(AssistantSerializer(self.get_object()).data)

    @extend_schema(request=AssistantUpdateSerializer, responses=AssistantSerializer, description=MANAGEMENT_ONLY)
    def update(self, request, pk=None):
        assistant = services.assistant_update(assistant=self.get_object(),
                                              **AssistantUpdateSerializer.validated(request.data))
        return Response(AssistantSerializer(assistant).data)

    @extend_schema(responses={200: AssistantDeletedSerializer}, description=MANAGEMENT_ONLY)
    def destroy(self, request, pk=None):
        services.assistant_delete(assistant=self.get_object())
        return Response(Envelope({"message": "Assistant deleted successfully"}))


class WebhookViewSet(ScopedViewSet):
    """Management API: the account's webhook endpoints. A delegated token reads them but cannot change
    them (403 `management_token_required`)."""

    envelope_key, envelope_list_key = "webhook", "webhooks"
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    permission_classes = [ManagementWrites]

    def narrow_queryset(self, queryset):
        return selectors.webhook_list(queryset=queryset)

    @extend_schema(responses=WebhookSerializer(many=True))
    def list(self, request):
        return self.paginated(self.get_queryset(), WebhookSerializer)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookWithSecretSerializer},
                   description="The answer carries the signing `secret`: it is shown now and on rotation only.")
    def create(self, request):
        webhook = services.webhook_create(account=self.account, **WebhookCreateSerializer.validated(request.data))
        return Response(WebhookWithSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=WebhookSerializer)
    def retrieve(self, request, pk=None):
        return Response(WebhookSerializer(self.get_object()).data)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookSerializer)
    def update(self, request, pk=None):
        webhook = services.webhook_update(webhook=self.get_object(), **WebhookUpdateSerializer.validated(request.data))
        return Response(WebhookSerializer(webhook).data)

    def destroy(self, request, pk=None):
        services.webhook_delete(webhook=self.get_object())
        return Response(deleted(pk, "Webhook deleted successfully"))

    @extend_schema(request=None, responses=WebhookWithSecretSerializer,
                   description="A new secret; for TSKR_WEBHOOK_SECRET_OVERLAP_HOURS (24) every delivery carries "
                               "two signatures, with the new and the old secret.")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        return Response(WebhookWithSecretSerializer(services.webhook_rotate_secret(webhook=self.get_object())).data)

    @extend_schema(request=None, responses=WebhookTestResultSerializer,
                   description="Send a `webhook.test` event to this endpoint now and answer the attempt's outcome.")
    @action(detail=True, methods=["post"], url_path="test")
    def test(self, request, pk=None):
        delivery = services.webhook_test(webhook=self.get_object())
        return Response(Envelope({"delivery": WebhookDeliverySerializer(delivery).data}))

    @extend_schema(request=WebhookReplaySerializer, responses=WebhookReplayResultSerializer,
                   description="Re-send the account's events since `since` (still within TSKR_EVENT_RETENTION_DAYS) "
                               "that this endpoint subscribes to, with their original ids.")
    @action(detail=True, methods=["post"], url_path="replay")
    def replay(self, request, pk=None):
        webhook = self.get_object()  # another account's id is a 404 whatever the body
        since = WebhookReplaySerializer.validated(request.data)["since"]
        return Response(Envelope({"replayed": services.webhook_replay(webhook=webhook, since=since)}))


class WebhookDeliveryViewSet(ScopedViewSet):
    """Management API: one endpoint's delivery log, newest first, and retrying a failed delivery."""

    envelope_key, envelope_list_key = "delivery", "deliveries"
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    permission_classes = [ManagementWrites]
    lookup_url_kwarg = "delivery_id"

    def narrow_queryset(self, queryset):
        webhook = self.get_scoped(Webhook, "Webhook not found", id=self.kwargs["webhook_id"])
        return selectors.webhook_delivery_list(queryset=queryset, webhook_id=webhook.id)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    def list(self, request, webhook_id=None):
        return self.paginated(self.filter_queryset(self.get_queryset()), WebhookDeliverySerializer)

    @extend_schema(request=None, responses=WebhookDeliverySerializer,
                   description="Queue a failed delivery for one more attempt now (409 `delivery_not_failed` otherwise).")
    def retry(self, request, webhook_id=None, delivery_id=None):
        delivery = services.webhook_delivery_retry(delivery=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data)


class EventViewSet(ScopedViewSet):
    """The account's events of the last TSKR_EVENT_RETENTION_DAYS, oldest first, to catch up after an
    outage. Any token of the account reads them."""

    envelope_key, envelope_list_key = "event", "events"
    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def narrow_queryset(self, queryset):
        return selectors.event_list(queryset=queryset)

    @extend_schema(responses=EventSerializer(many=True))
    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), EventSerializer)
