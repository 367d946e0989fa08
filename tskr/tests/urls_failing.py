"""A URLconf for tests only: a view that crashes, to prove a crash still answers in the envelope."""
from django.urls import path
from rest_framework.response import Response

from tskr.viewsets import ScopedViewSet


class CrashingViewSet(ScopedViewSet):
    def list(self, request):
        raise RuntimeError("boom: this message must not reach the client")

    def create(self, request):
        return Response({"ok": "fine"})


urlpatterns = [path("crash", CrashingViewSet.as_view({"get": "list", "post": "create"}))]
