from django.contrib import admin

from tskr.staff import ServiceAdmin

from . import services
from .models import Contact, IdentifierPreferences, Memory, UserIdentifier


@admin.register(UserIdentifier)
class UserIdentifierAdmin(ServiceAdmin):
    """Through directory's services, as the API: values normalised, `primary` re-linking the user's
    login email, a user's last or primary email kept, calendars nobody links any more tidied on delete.
    What the service derives (`value_as_given`, `proven_by_token`) is read-only, and so, once created,
    are the account, user, type and value (the API does not change them either)."""

    list_display = ["value", "type", "user", "account", "verified", "primary", "created_at"]
    list_filter = ["type", "verified", "primary"]
    search_fields = ["value", "id", "user__email"]
    list_select_related = ["user", "account"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["account", "user", "type", "value"] if obj else []
        return ["id", *fixed, "value_as_given", "proven_by_token", "created_at", "updated_at"]

    def service_create(self, request, data):
        return services.identifier_create(**data)

    def service_update(self, request, obj, changes):
        return services.identifier_update(identifier=obj, **changes)

    def service_delete(self, request, obj):
        services.identifier_delete(identifier=obj)


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
