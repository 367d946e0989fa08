"""Staff view of chats and their messages (/staff/): find a conversation and read it.

Read-mostly on purpose: message writes go through the services, which keep a chat's counters and
title in step and record who posted what; a bare admin form would bypass them. A chat may be deleted
(its messages go with it, as `DELETE /chats/:id` does).
"""
from django.contrib import admin

from .models import Chat, Message


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every field shown, none editable, nothing added."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Chat)
class ChatAdmin(ReadOnlyAdmin):
    list_display = ["title", "id", "account", "assistant", "status", "message_count", "last_message_at"]
    list_filter = ["status"]
    search_fields = ["id", "title", "account__name", "account__id", "assistant__email"]
    list_select_related = ["account", "assistant"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "chat", "role", "platform", "sender", "timestamp", "processed_at"]
    list_filter = ["role", "platform"]
    search_fields = ["id", "chat__id", "content", "sender__email"]
    list_select_related = ["chat", "sender"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
