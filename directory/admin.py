from django.contrib import admin

from .models import UserIdentifier


@admin.register(UserIdentifier)
class UserIdentifierAdmin(admin.ModelAdmin):
    list_display = ["value", "type", "user", "account", "verified", "primary", "created_at"]
    list_filter = ["type", "verified", "primary"]
    search_fields = ["value", "id", "user__email"]
    list_select_related = ["user", "account"]
    readonly_fields = ["id", "created_at", "updated_at"]
