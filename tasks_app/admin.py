"""Staff view of tasks: browse a task with its history and meetings, or delete it.

Changes are read-only here on purpose: edits through the API go through the lifecycle rules and leave
an activity naming who made them, which a bare admin form would bypass.
"""
from django.contrib import admin

from .models import Activity, Approval, Meeting, ScheduledAction, Task


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ActivityInline(ReadOnlyInline):
    model = Activity
    fields = ["created_at", "type", "content", "actor_user", "actor_assistant", "metadata"]
    ordering = ["created_at", "id"]


class MeetingInline(ReadOnlyInline):
    model = Meeting
    fields = ["title", "start_at", "end_at", "timezone", "location", "meeting_link", "status"]
    ordering = ["start_at"]


class SubtaskInline(ReadOnlyInline):
    model = Task
    fk_name = "parent"
    fields = ["title", "type", "status", "owner", "created_at"]
    show_change_link = True
    verbose_name_plural = "subtasks"


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "id", "account", "type", "status", "owner", "created_at"]
    list_filter = ["status", "type"]
    search_fields = ["id", "title", "account__name", "account__id", "owner__email"]
    list_select_related = ["account", "owner"]
    inlines = [SubtaskInline, ActivityInline, MeetingInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Task._meta.fields] + ["followers"]

    def has_add_permission(self, request):
        return False


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    """Read-only: only the task's owner decides, through the API, so the action runs exactly once."""

    list_display = ["id", "kind", "status", "owner", "task", "created_at", "expires_at", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["id", "task__id", "owner__email", "account__id"]
    list_select_related = ["owner", "task"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Approval._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ScheduledAction)
class ScheduledActionAdmin(admin.ModelAdmin):
    """The schedule, to see what will fire when and what became of what fired. Read-only: plans change
    through their sources (a task's due time, a meeting, the preferences)."""

    list_display = ["kind", "due_at", "wall_time", "zone", "status", "attempts", "task_id", "meeting_id",
                    "event_id", "account", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["id", "key", "task_id", "meeting_id", "event_id", "account__id"]
    list_select_related = ["account"]
    ordering = ["-due_at"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ScheduledAction._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
