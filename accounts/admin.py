from django.contrib import admin
from django.template.response import TemplateResponse

from tskr.staff import ServiceAdmin

from . import services
from .models import Account, Assistant, Certificate, User, Webhook, WebhookDelivery
from .services import certificate_issue, certificate_revoke, webhook_delivery_retry


class CertificateInline(admin.TabularInline):
    model = Certificate
    fields = ["kid", "name", "status", "created_at", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "staff", "created_at"]
    list_filter = ["staff"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [CertificateInline]


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Adding a certificate generates the key pair and shows the private key once; it is not stored."""

    list_display = ["kid", "account", "name", "status", "created_at", "last_used_at"]
    list_filter = ["status"]
    search_fields = ["kid", "name", "account__name", "account__id"]
    list_select_related = ["account"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["account", "name"]
        return ["kid", "account", "name", "status", "public_key_pem", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["kid", "account", "status", "public_key_pem", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        certificate, private_pem = certificate_issue(account=obj.account, name=obj.name)
        obj.pk, obj.kid = certificate.pk, certificate.kid
        request._tskr_private_key_pem = private_pem

    def response_add(self, request, obj, post_url_continue=None):
        return TemplateResponse(request, "admin/accounts/certificate/issued.html", {
            **self.admin_site.each_context(request), "certificate": obj, "opts": self.model._meta,
            "private_key_pem": request._tskr_private_key_pem, "title": "Certificate issued",
        })

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected certificates")
    def revoke(self, request, queryset):
        for certificate in queryset:
            certificate_revoke(kid=certificate.kid)
        self.message_user(request, f"Revoked {queryset.count()} certificate(s)")


@admin.register(User)
class UserAdmin(ServiceAdmin):
    """Through accounts' services, as the API: a new user gets their email identifier, a change or a
    delete drops the user's cached copy, a delete tidies the calendars nobody links any more. The email
    changes only by making another email identifier primary, so it is read-only once the user exists."""

    list_display = ["email", "account", "first_name", "last_name", "status", "external_id", "created_at"]
    list_filter = ["status"]
    search_fields = ["email", "external_id", "id", "account__name"]
    list_select_related = ["account"]

    def get_readonly_fields(self, request, obj=None):
        return ["id", "created_at", "updated_at", *(["account", "email"] if obj else [])]

    def service_create(self, request, data):
        return services.user_create(**data)

    def service_update(self, request, obj, changes):
        return services.user_update(user=obj, **changes)

    def service_delete(self, request, obj):
        services.user_delete(user=obj)


@admin.register(Assistant)
class AssistantAdmin(ServiceAdmin):
    """Through accounts' services: unique emails per account, an assignable (active) catalog agent."""

    list_display = ["name", "email", "account", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "email", "id", "account__name"]
    list_select_related = ["account"]

    def get_readonly_fields(self, request, obj=None):
        return ["id", "created_at", "updated_at", *(["account"] if obj else [])]

    @staticmethod
    def _agent_as_id(data: dict) -> dict:
        if "agent" in data:  # checked by the service as the API's agentId is
            agent = data.pop("agent")
            data["agent_id"] = agent.id if agent else None
        return data

    def service_create(self, request, data):
        return services.assistant_create(**self._agent_as_id(data))

    def service_update(self, request, obj, changes):
        return services.assistant_update(assistant=obj, **self._agent_as_id(changes))

    def service_delete(self, request, obj):
        services.assistant_delete(assistant=obj)


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Endpoints are created through the API (which shows the secret once); the secret is never shown here."""

    list_display = ["url", "account", "enabled", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "id", "account__name", "account__id"]
    list_select_related = ["account"]
    fields = ["id", "account", "url", "events", "description", "enabled", "disabled_reason", "failing_since",
              "previous_secret_expires_at", "created_at", "updated_at"]
    readonly_fields = ["id", "account", "url", "events", "disabled_reason", "failing_since",
                       "previous_secret_expires_at", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "webhook", "event", "status", "attempts", "response_status", "last_attempt_at",
                    "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["id", "event__id", "webhook__id", "webhook__url", "account__name"]
    list_select_related = ["webhook", "event"]
    readonly_fields = ["id", "account", "webhook", "event", "status", "attempts", "next_attempt_at", "last_attempt_at",
                       "claimed_until", "response_status", "response_body", "duration_ms", "created_at"]
    fields = readonly_fields
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry selected failed deliveries now")
    def retry(self, request, queryset):
        failed = list(queryset.filter(status=WebhookDelivery.Status.FAILED))
        for delivery in failed:
            webhook_delivery_retry(delivery=delivery)
        self.message_user(request, f"Queued {len(failed)} failed delivery(ies) again")
