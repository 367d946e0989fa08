from zoneinfo import ZoneInfo

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from directory.models import UserIdentifier
from tskr.api.permissions import IsDelegated, ensure_identifier_owner
from tskr.api.viewsets import ScopedViewSet, deleted

from .. import selectors, services
from ..models import CalendarEvent, OAuthAccess, Platform, UserCalendar
from .serializers import (
    AvailabilityInputSerializer,
    AvailabilityResultSerializer,
    CalendarEventQuerySerializer,
    CalendarEventSerializer,
    CalendarSerializer,
    ConflictsQuerySerializer,
    ConflictsSerializer,
    OAuthAccessSerializer,
    OAuthConnectInputSerializer,
    OAuthConnectSerializer,
    OAuthTokensInputSerializer,
    PlatformInputSerializer,
    SyncResourcesSerializer,
)

OWNER_ONLY = "A delegated token may do this for its own user's identifiers only (403 `identifier_not_owned`)."
IDENTIFIER_ID = OpenApiParameter("identifier_id", str, OpenApiParameter.PATH, description="The identifier ID")
PLATFORM = OpenApiParameter("platform", str, OpenApiParameter.PATH, enum=Platform.values,
                            description="OAuth provider: google or azure (Microsoft)")


class IdentifierScopedMixin:
    """Routes under /identifiers/:id/...: the identifier is looked up in the caller's account (404 otherwise)."""

    def get_identifier(self) -> UserIdentifier:
        return self.get_scoped(UserIdentifier, "Identifier not found", id=self.kwargs["identifier_id"])

    def get_owned_identifier(self) -> UserIdentifier:
        """The identifier, for connecting, syncing or changing a grant: a delegated token's own user's only
        (403 `identifier_not_owned`)."""
        identifier = self.get_identifier()
        ensure_identifier_owner(self.request.user, identifier.user_id)
        return identifier


class CalendarViewSet(ScopedViewSet):
    """Delegated API: the calling user's calendars, one entry per identifier that links it."""

    envelope_key, envelope_list_key = "calendar", "calendars"
    scope = "user"
    queryset = UserCalendar.objects.all()
    pagination_class = None

    def narrow_queryset(self, queryset):
        return selectors.user_calendar_list(queryset=queryset)

    @extend_schema(responses=CalendarSerializer(many=True), description=(
        "All calendars synced for the calling user (delegated token), primary first. Not paginated."))
    def list(self, request):
        return Response(CalendarSerializer(self.get_queryset(), many=True).data)


@extend_schema(parameters=[IDENTIFIER_ID])
class IdentifierCalendarViewSet(IdentifierScopedMixin, ScopedViewSet):
    """Calendars linked through one identifier of the account, and an on-demand calendar sync."""

    envelope_key, envelope_list_key = "calendar", "calendars"
    queryset = UserCalendar.objects.all()
    pagination_class = None

    def narrow_queryset(self, queryset):
        return selectors.user_calendar_list(queryset=queryset, identifier=self.get_identifier())

    @extend_schema(responses=CalendarSerializer(many=True))
    def list(self, request, identifier_id=None):
        return Response(CalendarSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=PlatformInputSerializer, responses=CalendarSerializer(many=True), description=(
        OWNER_ONLY + " "
        "Sync the calendar list of one platform now (inline), with each calendar's events (eventCount). "
        "Errors: 400 `oauth_access_missing` (no grant for the platform), 409 `oauth_reconsent_required` "
        "(the refresh token was refused; connect again), 409 `sync_in_progress`, 503 `provider_unavailable`, "
        "502 `provider_rejected`."))
    def sync(self, request, identifier_id=None):
        identifier = self.get_owned_identifier()  # before the body: another account's id is 404 whatever it holds
        platform = PlatformInputSerializer.validated(request.data)["platform"]
        links = services.identifier_sync_calendars(account=self.account, identifier=identifier, platform=platform)
        return Response(CalendarSerializer(links, many=True).data)


@extend_schema(parameters=[IDENTIFIER_ID])
class SyncResourcesViewSet(IdentifierScopedMixin, ScopedViewSet):
    envelope_key = "syncResources"
    queryset = UserIdentifier.objects.all()

    @extend_schema(request=None, responses={200: SyncResourcesSerializer}, description=(
        OWNER_ONLY + " "
        "Sync calendars, events and (with `contacts.read` granted) contacts from every platform the identifier "
        "holds OAuth tokens for. TSKR_SYNC_MODE=inline runs it now and answers `status: completed` with "
        "`result` (a failing platform is listed in `result.errors`, e.g. `oauth_reconsent_required`); "
        "`queue` hands it to a Celery worker and answers `status: queued`. Errors: 400 `oauth_access_missing`, "
        "409 `sync_in_progress` (inline only)."))
    def create(self, request, identifier_id=None):
        return Response(services.identifier_sync_requested(account=self.account,
                                                           identifier=self.get_owned_identifier()))


@extend_schema(parameters=[IDENTIFIER_ID, PLATFORM])
class IdentifierOAuthViewSet(IdentifierScopedMixin, ScopedViewSet):
    """An identifier's OAuth grant on one platform. Tokens go in, never out."""

    envelope_key = "oauth"
    queryset = OAuthAccess.objects.all()
    serializer_class = OAuthAccessSerializer

    @extend_schema(request=OAuthConnectInputSerializer, responses=OAuthConnectSerializer, description=(
        "Start the authorization-code flow: send the user's browser to `authUrl`. The provider redirects to "
        "`<TSKR_PUBLIC_URL>/oauth/<platform>/callback`, which stores the tokens. The signed `state` expires "
        "after 10 minutes, works once, and is bound to this identifier and its user. 400 "
        "`oauth_not_configured` when the server has no client id. " + OWNER_ONLY))
    def connect(self, request, identifier_id=None, platform=None):
        identifier = self.get_owned_identifier()
        data = OAuthConnectInputSerializer.validated(request.data)
        return Response(services.oauth_connect_start(account=self.account, identifier=identifier,
                                                     platform=platform, access=data.get("access")))

    @extend_schema(responses=OAuthAccessSerializer, description="The grant's state (404 `oauth_access_not_found`).")
    def retrieve(self, request, identifier_id=None, platform=None):
        access = services.oauth_access_get(account=self.account, identifier=self.get_identifier(), platform=platform)
        return Response(OAuthAccessSerializer(access).data)

    @extend_schema(request=OAuthTokensInputSerializer, responses=OAuthAccessSerializer, description=(
        "Store tokens the integrator already holds (replaces earlier ones and clears a re-consent flag). "
        "Tokens are encrypted at rest and never returned. " + OWNER_ONLY))
    def update(self, request, identifier_id=None, platform=None):
        identifier = self.get_owned_identifier()
        data = OAuthTokensInputSerializer.validated(request.data)
        access = services.oauth_access_set(account=self.account, identifier=identifier, platform=platform, **data)
        return Response(OAuthAccessSerializer(access).data)

    @extend_schema(description="Revoke the grant at the provider (Google; best effort) and forget the tokens. "
                               + OWNER_ONLY)
    def destroy(self, request, identifier_id=None, platform=None):
        access_id = services.oauth_access_revoke(account=self.account, identifier=self.get_owned_identifier(),
                                                 platform=platform)
        return Response(deleted(access_id, "OAuth access revoked successfully"))


class OAuthCallbackView(APIView):
    """Where the provider sends the browser back. Public: the signed `state` names account and identifier."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    envelope_key = "oauth"

    @extend_schema(
        auth=[], parameters=[PLATFORM, OpenApiParameter("code", str, description="Authorization code"),
                             OpenApiParameter("state", str, required=True, description="The state from authUrl"),
                             OpenApiParameter("error", str, description="Set by the provider when consent failed")],
        responses=OAuthAccessSerializer, description=(
            "Completes the authorization-code flow and answers JSON (the grant's state), only for the identifier "
            "and user the state was issued for and, for an email identifier, only when the consenting account's "
            "address is the identifier's value. Errors: 400 `invalid_oauth_state` (also: the identifier changed "
            "owner since), `oauth_state_expired`, `oauth_state_used`, `oauth_access_denied`, `oauth_code_rejected`, "
            "`oauth_account_mismatch`; 503 `provider_unavailable`."))
    def get(self, request, platform=None):
        params = request.query_params
        access = services.oauth_callback_complete(platform=platform, code=params.get("code", ""),
                                                  state=params.get("state", ""), error=params.get("error", ""))
        return Response(OAuthAccessSerializer(access).data)


RANGE_PARAMETERS = [OpenApiParameter("start", str, required=True, description="ISO 8601 datetime"),
                    OpenApiParameter("end", str, required=True, description="ISO 8601 datetime, after start")]


class CalendarEventViewSet(ScopedViewSet):
    """Delegated API: the calling user's event occurrences (recurring series expanded by the sync)."""

    envelope_key, envelope_list_key = "calendarEvent", "calendarEvents"
    queryset = CalendarEvent.objects.all()
    account_field = "calendar__account"
    permission_classes = [IsDelegated]

    def narrow_queryset(self, queryset):
        params = CalendarEventQuerySerializer.validated(self.request.query_params)
        calendar = None
        if "calendarId" in params:
            calendar = selectors.user_calendar_get(account=self.account, user=self.acting_user,
                                                   calendar_id=params["calendarId"])
        return selectors.calendar_event_list(queryset=queryset, user=self.acting_user, start=params["start"],
                                             end=params["end"], calendar=calendar)

    @extend_schema(responses=CalendarEventSerializer(many=True), parameters=RANGE_PARAMETERS + [
        OpenApiParameter("calendarId", str, description="Only this calendar (one of the caller's; else 404 "
                                                        "`calendar_not_found`)")], description=(
        "Occurrences overlapping [start, end) on the caller's calendars, ordered by start, paginated. "
        "Only what the sync window holds (TSKR_SYNC_EVENTS_PAST_DAYS / TSKR_SYNC_EVENTS_FUTURE_DAYS)."))
    def list(self, request):
        return self.paginated(self.get_queryset(), CalendarEventSerializer)


class AvailabilityViewSet(ScopedViewSet):
    """Delegated API: free slots of users of the caller's account (calendars_app.availability)."""

    envelope_key = "availability"
    queryset = CalendarEvent.objects.none()
    permission_classes = [IsDelegated]

    @extend_schema(request=AvailabilityInputSerializer, responses={200: AvailabilityResultSerializer}, description=(
        "Free slots in [start, end) when every participant is free and within their working hours (see the "
        "README's Availability section for the rules). 404 `user_not_found` when a participant is not a user "
        "of the account; 400 `validation_error` for a bad window, zone or value."))
    def create(self, request):
        data = AvailabilityInputSerializer.validated(request.data)
        zone = selectors.zone_or_none(data.pop("timezone", None) or self.acting_user.timezone) or ZoneInfo("UTC")
        result = selectors.availability_find(account=self.account, zone=zone,
                                             participants=data.pop("participants", None) or [self.acting_user.id],
                                             duration=data.pop("duration", None), **data)
        return Response(AvailabilityResultSerializer(result).data)


class SchedulingConflictsViewSet(ScopedViewSet):
    """Delegated API: whether one proposed time suits a user of the caller's account, by the same rules."""

    envelope_key = "conflicts"
    queryset = CalendarEvent.objects.none()
    permission_classes = [IsDelegated]

    @extend_schema(responses=ConflictsSerializer, parameters=RANGE_PARAMETERS + [
        OpenApiParameter("userId", str, description="A user of the account (id or email); default the caller")],
        description=(
            "Whether a proposed time suits a user: the busy events and TSKR-booked meetings it overlaps and "
            "the rules it breaks "
            "(`in_past`, `day_off`, `outside_working_hours`, `buffer`, `daily_limit`). 404 `user_not_found`."))
    def list(self, request):
        params = ConflictsQuerySerializer.validated(request.query_params)
        result = selectors.scheduling_conflicts_get(account=self.account,
                                                    user_reference=params.get("userId") or self.acting_user.id,
                                                    start=params["start"], end=params["end"])
        return Response(ConflictsSerializer(result).data)
