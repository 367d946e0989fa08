"""The app's own URLs plus the bench-only baselines under /__bench/.

The Django baselines (b) are matched first. The unauthenticated copy of the message list (scenario 3)
sits right before the app's conversation routes, so resolving it costs what resolving the real route
does, and the two differ only in authentication and rate limiting.
"""
from django.urls import path

from tskr.urls import urlpatterns as app_urlpatterns

from . import views

noauth_messages = path("__bench/noauth/chats/<str:chat_id>/messages",
                       views.UnauthenticatedMessages.as_view({"get": "list"}))


def _with_noauth_copy(patterns: list) -> list:
    position = next(i for i, pattern in enumerate(patterns)
                    if getattr(pattern, "urlconf_name", None) is not None
                    and getattr(pattern.urlconf_module, "__name__", "") == "conversations.api.urls")
    return patterns[:position] + [noauth_messages] + patterns[position:]


urlpatterns = [
    path("__bench/django/chats", views.chats),
    path("__bench/django/chats/<str:chat_id>/messages", views.messages),
    path("__bench/django/tasks", views.tasks),
    path("__bench/django/memories", views.memories),
    *_with_noauth_copy(app_urlpatterns),
]
