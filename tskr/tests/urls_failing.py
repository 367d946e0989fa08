"""A URLconf for tests only: a view that crashes (a crash still answers in the envelope), a delegated-only one."""
from django.urls import path
from rest_framework.response import Response

from tskr.viewsets import ScopedViewSet


class CrashingViewSet(ScopedViewSet):
    def list(self, request):
        raise RuntimeError("boom: this message must not reach the client")

    def create(self, request):
        return Response({"ok": "fine"})


class OverlongWriteViewSet(ScopedViewSet):
    """Writes a value longer than its column: PostgreSQL answers with a DataError."""

    def create(self, request):
        from accounts.models import Account

        Account.objects.create(name="x" * 500)
        return Response({})


class DeadlockingViewSet(ScopedViewSet):
    """Loses a deadlock (a real PostgreSQL error, SQLSTATE 40P01) on its first `?losses` runs."""

    runs: list[str] = []

    def _run(self, request):
        from django.db import connection, transaction

        DeadlockingViewSet.runs.append(request.method)
        with transaction.atomic():
            if len(DeadlockingViewSet.runs) <= int(request.query_params.get("losses", "99")):
                with connection.cursor() as cursor:
                    cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$")
        return Response({"runs": len(DeadlockingViewSet.runs)})

    create = list = _run


class DelegatedOnlyViewSet(ScopedViewSet):
    scope = "user"

    def list(self, request):
        return Response([])


urlpatterns = [
    path("crash", CrashingViewSet.as_view({"get": "list", "post": "create"})),
    path("delegated-only", DelegatedOnlyViewSet.as_view({"get": "list"})),
    path("deadlock", DeadlockingViewSet.as_view({"get": "list", "post": "create"})),
    path("overlong", OverlongWriteViewSet.as_view({"post": "create"})),
]
