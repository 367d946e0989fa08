from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from tskr.permissions import ManagementWrites
from tskr.renderers import Envelope
from tskr.viewsets import ScopedViewSet, deleted

from .. import selectors, services
from ..filters import AssistantFilter, UserFilter
from ..models import Assistant, User
from .serializers import (
    AssistantCreateSerializer,
    AssistantDeletedSerializer,
    AssistantSerializer,
    AssistantUpdateSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
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
