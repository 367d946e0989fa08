"""GET /health: each dependency checked for real, 503 naming the failing part when one is down."""
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check() or {}
        status = "ok"
    except Exception as exc:  # a health check reports every failure instead of raising it
        detail, status = {"error": exc.__class__.__name__}, "down"
    return {"status": status, "latencyMs": round((time.perf_counter() - started) * 1000, 2), **detail}


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"engine": connection.vendor}


def _check_cache():
    if not settings.REDIS_URL:
        return {"backend": "in-process"}
    from .redis_client import get_redis

    get_redis().ping()
    return {"backend": "redis"}


def _check_broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "eager"}
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {"mode": "redis"}


#: The plumbing's own checks; an app adds its dependency's with `register_check` in its `ready()`
#: (conversations adds "ai"), so this module names no app.
CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


def register_check(name: str, check) -> None:
    """`check()` raises when the dependency is down, else answers details to show (or None)."""
    CHECKS[name] = check


_check_schema = inline_serializer("HealthCheck", {
    "status": serializers.ChoiceField(choices=["ok", "down"]),
    "latencyMs": serializers.FloatField(),
    "error": serializers.CharField(required=False),
    "oldestUndeliveredAgeSeconds": serializers.FloatField(
        required=False, allow_null=True,
        help_text="`webhooks` only: age of the oldest event due for delivery and not delivered yet"),
    "oldestOverdueSeconds": serializers.FloatField(
        required=False, allow_null=True,
        help_text="`schedule` only: how late the oldest scheduled action (reminder, follow-up) still waiting to "
                  "fire is; null when none is overdue"),
})


class HealthySerializer(serializers.Serializer):
    envelope = True  # the whole body, as below
    ok = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["healthy"])
    checks = serializers.DictField(child=_check_schema)


class HealthView(APIView):
    """No authentication, no rate limit: load balancers and monitors call it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        auth=[],
        summary="Health of the API and its dependencies",
        responses={
            200: HealthySerializer,
            503: OpenApiResponse(description="A dependency is down: the error envelope, `details` naming the "
                                             "failing checks, and `checks`"),
        },
    )
    def get(self, request):
        return health_response()


def health_response() -> JsonResponse:
    checks = {name: _timed(check) for name, check in CHECKS.items()}
    failing = [name for name, result in checks.items() if result["status"] != "ok"]
    if failing:
        from django.db import close_old_connections

        close_old_connections()
        return JsonResponse({"error": f"Unavailable: {', '.join(failing)}", "error_code": "dependency_unavailable",
                             "details": {name: [checks[name].get("error", "down")] for name in failing},
                             "checks": checks}, status=503)
    return JsonResponse({"ok": True, "status": "healthy", "checks": checks})
