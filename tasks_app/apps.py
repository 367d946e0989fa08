from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks_app"
    verbose_name = "Tasks"  # the staff screens' heading (the default would read "Tasks_App")

    def ready(self):
        from calendars_app.hooks import booked_meetings
        from conversations.hooks import task_requested, tasks_presented

        from .api.serializers import tasks_as_listed
        from .selectors import meetings_booked
        from .services import task_create

        task_requested.register(task_create)
        tasks_presented.register(tasks_as_listed)
        booked_meetings.register(meetings_booked)
