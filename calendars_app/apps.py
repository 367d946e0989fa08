from django.apps import AppConfig


class CalendarsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calendars_app"
    verbose_name = "Calendars"  # the staff screens' heading (the default would read "Calendars_App")
