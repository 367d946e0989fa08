from django.apps import AppConfig


class TskrConfig(AppConfig):
    """The shared plumbing as an app: its one model (IdempotencyKey) and SQLite's extra SQL functions."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "tskr"

    def ready(self):
        from .infra.aggregates import connect_signals

        connect_signals()
