from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks_app"
    verbose_name = "Tasks"  # the staff screens' heading (the default would read "Tasks_App")

    def ready(self):
        from calendars_app.hooks import booked_meetings, events_synced
        from conversations.hooks import message_received, open_tasks, task_requested, task_step, tasks_presented
        from directory.hooks import preferences_changed
        from tskr.infra.health import register_check

        from . import reminders  # registers the kinds of scheduled actions with the dispatcher
        from .agent import approval_decided as agent_approval_decided
        from .agent import open_tasks_for_chat, task_requested as agent_task_requested, task_step_apply
        from .approvals import approval_decided
        from .api.serializers import tasks_as_listed
        from .schedule import oldest_overdue_seconds
        from .selectors import meetings_booked

        task_requested.register(agent_task_requested)
        open_tasks.register(open_tasks_for_chat)
        task_step.register(task_step_apply)
        approval_decided.register(agent_approval_decided)
        tasks_presented.register(tasks_as_listed)
        booked_meetings.register(meetings_booked)
        events_synced.register(reminders.meeting_reminders_plan)
        message_received.register(reminders.followups_stop_on_reply)
        preferences_changed.register(reminders.meeting_reminders_replan)
        register_check("schedule", lambda: {"oldestOverdueSeconds": oldest_overdue_seconds()})
