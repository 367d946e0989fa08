from django.apps import AppConfig


class CalendarsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calendars_app"
    verbose_name = "Calendars"  # the staff screens' heading (the default would read "Calendars_App")

    def ready(self):
        from accounts.hooks import user_deleted
        from directory.hooks import identifier_deleted

        from .services import calendar_orphans_delete

        # Deleting a user or an identifier cascades to calendar links, not to the calendars they shared.
        user_deleted.register(calendar_orphans_delete)
        identifier_deleted.register(calendar_orphans_delete)
