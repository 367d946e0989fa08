"""Staff screens (/staff/) for synced calendars and OAuth grants. Token columns are never shown."""
from django.contrib import admin

from .models import Calendar, CalendarEvent, OAuthAccess, UserCalendar


@admin.register(OAuthAccess)
class OAuthAccessAdmin(admin.ModelAdmin):
    list_display = ["id", "identifier", "platform", "status", "expires_at", "last_synced_at"]
    list_filter = ["platform", "status"]
    list_select_related = ["identifier"]
    search_fields = ["id", "identifier__value"]
    # Read-only and without the encrypted token columns: staff can see a grant's state, not its secrets.
    fields = ["id", "account", "identifier", "platform", "status", "scopes", "expires_at", "last_error",
              "last_synced_at", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class UserCalendarInline(admin.TabularInline):
    model = UserCalendar
    fields = ["identifier", "user", "role", "is_primary"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "platform", "account", "event_count", "last_synced_at", "sync_error"]
    list_filter = ["platform", "sync_error"]
    list_select_related = ["account"]
    search_fields = ["id", "name", "reference_id"]
    readonly_fields = ["id", "account", "platform", "reference_id", "last_sync_token", "last_synced_at",
                       "event_count", "created_at", "updated_at"]
    inlines = [UserCalendarInline]


@admin.register(CalendarEvent)
class CalendarEventAdmin(admin.ModelAdmin):
    list_display = ["id", "calendar", "start", "end", "status", "transparency"]
    list_filter = ["status", "transparency"]
    list_select_related = ["calendar"]
    raw_id_fields = ["calendar"]
