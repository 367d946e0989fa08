from django.contrib import admin

from .models import Contact, IdentifierPreferences, Memory, UserIdentifier


@admin.register(UserIdentifier)
class UserIdentifierAdmin(admin.ModelAdmin):
    list_display = ["value", "type", "user", "account", "verified", "primary", "created_at"]
    list_filter = ["type", "verified", "primary"]
    search_fields = ["value", "id", "user__email"]
    list_select_related = ["user", "account"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["user"]


@admin.register(IdentifierPreferences)
class IdentifierPreferencesAdmin(admin.ModelAdmin):
    list_display = ["id", "user_identifier", "account", "updated_at"]
    search_fields = ["id", "user_identifier__value"]
    list_select_related = ["user_identifier", "account"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["user_identifier"]


@admin.register(Memory)
class MemoryAdmin(admin.ModelAdmin):
    list_display = ["title", "type", "user", "account", "created_at"]
    list_filter = ["type"]
    search_fields = ["id", "title", "user__email"]
    list_select_related = ["user", "account"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["user"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "company", "user", "linked_user", "account", "created_at"]
    search_fields = ["id", "name", "email", "company", "user__email"]
    list_select_related = ["user", "linked_user", "account"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["user", "linked_user"]
