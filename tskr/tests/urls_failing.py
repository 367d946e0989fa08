"""A URLconf for tests only: a view that crashes (a crash still answers in the envelope), a delegated-only one,
and writes that are slow or fail once (idempotency keys)."""
import time

from django.urls import path
from rest_framework.response import Response

from tskr.api.viewsets import ScopedViewSet


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


class SlowWriteViewSet(ScopedViewSet):
    """Takes long enough for concurrent retries to arrive while it runs; counts its runs."""

    runs = 0

    def create(self, request):
        type(self).runs += 1
        time.sleep(0.5)
        return Response({"run": type(self).runs}, status=201)


class FailsOnceWriteViewSet(ScopedViewSet):
    """A 500 on its first run, then a 201: a retry after a server error must run again."""

    runs = 0

    def create(self, request):
        type(self).runs += 1
        if type(self).runs == 1:
            raise RuntimeError("first run fails")
        return Response({"run": type(self).runs}, status=201)


urlpatterns = [
    path("crash", CrashingViewSet.as_view({"get": "list", "post": "create"})),
    path("delegated-only", DelegatedOnlyViewSet.as_view({"get": "list"})),
    path("deadlock", DeadlockingViewSet.as_view({"get": "list", "post": "create"})),
    path("overlong", OverlongWriteViewSet.as_view({"post": "create"})),
    path("slow-write", SlowWriteViewSet.as_view({"post": "create"})),
    path("fails-once", FailsOnceWriteViewSet.as_view({"post": "create"})),
]
