from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        from tskr.infra.health import register_check

        from .delivery import oldest_due_age_seconds

        # Not a pass/fail check: how long the oldest event due for delivery has been waiting (null: none).
        register_check("webhooks", lambda: {"oldestUndeliveredAgeSeconds": oldest_due_age_seconds()})
