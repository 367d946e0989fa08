"""Explicit paths: the /identifiers/:id/... routes sit under the directory's router prefix, whose
detail pattern (`^identifiers/<pk>$`) does not match these deeper paths, so they reach us."""
from django.urls import path, re_path

from .views import (
    AvailabilityViewSet,
    CalendarEventViewSet,
    CalendarViewSet,
    IdentifierCalendarViewSet,
    IdentifierOAuthViewSet,
    OAuthCallbackView,
    SchedulingConflictsViewSet,
    SyncResourcesViewSet,
)

PLATFORM = r"(?P<platform>google|azure)"
IDENTIFIER = r"identifiers/(?P<identifier_id>[^/]+)"

urlpatterns = [
    path("calendars", CalendarViewSet.as_view({"get": "list"}), name="calendar-list"),
    path("calendar-events", CalendarEventViewSet.as_view({"get": "list"}), name="calendar-event-list"),
    path("availability", AvailabilityViewSet.as_view({"post": "create"}), name="availability"),
    path("scheduling/conflicts", SchedulingConflictsViewSet.as_view({"get": "list"}), name="scheduling-conflicts"),
    re_path(rf"^{IDENTIFIER}/calendars$", IdentifierCalendarViewSet.as_view({"get": "list"}),
            name="identifier-calendar-list"),
    re_path(rf"^{IDENTIFIER}/calendars/sync$", IdentifierCalendarViewSet.as_view({"post": "sync"}),
            name="identifier-calendar-sync"),
    re_path(rf"^{IDENTIFIER}/sync-resources$", SyncResourcesViewSet.as_view({"post": "create"}),
            name="identifier-sync-resources"),
    re_path(rf"^{IDENTIFIER}/oauth/{PLATFORM}/connect$", IdentifierOAuthViewSet.as_view({"post": "connect"}),
            name="identifier-oauth-connect"),
    re_path(rf"^{IDENTIFIER}/oauth/{PLATFORM}$",
            IdentifierOAuthViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
            name="identifier-oauth"),
    re_path(rf"^oauth/{PLATFORM}/callback$", OAuthCallbackView.as_view(), name="oauth-callback"),
]
