from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from .api.middleware import STAFF_PATH_PREFIX
from .infra.health import HealthView
from .staff import staff_login


@csrf_exempt
def not_found(request, *args, **kwargs):
    return JsonResponse({"error": f"No route for {request.method} {request.path}", "error_code": "not_found"},
                        status=404)


def bad_request(request, exception=None):
    return JsonResponse({"error": "Bad request", "error_code": "bad_request"}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"error": "Forbidden", "error_code": "forbidden"}, status=403)


def csrf_failure(request, reason=""):
    return JsonResponse({"error": "CSRF verification failed", "error_code": "csrf_failed"}, status=403)


def server_error(request):
    return JsonResponse({"error": "Internal server error", "error_code": "internal_error"}, status=500)


handler400 = bad_request
handler403 = permission_denied
handler404 = not_found
handler500 = server_error

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # The split view serves its start-up script as a file (`/docs?script`): the page's CSP allows no inline script.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="docs"),
    path(f"{STAFF_PATH_PREFIX.lstrip('/')}login/", staff_login),  # before the admin's own login route
    path(STAFF_PATH_PREFIX.lstrip("/"), admin.site.urls),
    path("", include("accounts.api.urls")),
    path("", include("directory.api.urls")),
    path("", include("conversations.api.urls")),
    path("", include("tasks_app.api.urls")),
    path("", include("calendars_app.api.urls")),
    path("", include("admin_catalog.api.urls")),
    re_path(r"^[\s\S]*$", not_found),  # any path, newlines included
]
