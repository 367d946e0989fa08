from datetime import datetime, timedelta, timezone

import factory

from tasks_app.models import Activity, Meeting, Task


class TaskFactory(factory.django.DjangoModelFactory):
    """A bare task row (no "Task created" activity: use tasks_app.services.task_create for that)."""

    class Meta:
        model = Task
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Task {n}")
    description = "Something to do"

    @factory.post_generation
    def followers(self, create, extracted, **kwargs):
        if create and extracted:
            self.followers.set(extracted)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    task = factory.SubFactory(TaskFactory)
    account = factory.SelfAttribute("task.account")
    type = Activity.Type.COMMENT
    content = factory.Sequence(lambda n: f"Comment {n}")


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    task = factory.SubFactory(TaskFactory)
    account = factory.SelfAttribute("task.account")
    title = "Sync"
    start_at = factory.Sequence(lambda n: datetime(2026, 12, 1, 9, tzinfo=timezone.utc) + timedelta(hours=n))
    end_at = factory.LazyAttribute(lambda meeting: meeting.start_at + timedelta(minutes=30))
