from django.apps import AppConfig


class CalendarsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calendars_app"
