"""The app's own URLs plus the bench-only baselines under /__bench/ (matched first)."""
from django.urls import include, path

from . import views

urlpatterns = [
    path("__bench/django/chats", views.chats),
    path("__bench/django/chats/<str:chat_id>/messages", views.messages),
    path("__bench/django/tasks", views.tasks),
    path("__bench/django/memories", views.memories),
    path("__bench/noauth/chats/<str:chat_id>/messages", views.UnauthenticatedMessages.as_view({"get": "list"})),
    path("", include("tskr.urls")),
]
