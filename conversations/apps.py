from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conversations"

    def ready(self):
        from tskr.infra.health import register_check

        from .engine import engine_status

        register_check("ai", engine_status)
