"""Writes for tasks. `task_create` is shared: the API, chat processing and templates all create through it."""
from django.db import transaction

from accounts.models import Account, Assistant, User

from .models import Activity, Task


@transaction.atomic
def task_create(*, account: Account, title: str, actor_user: User | None = None,
                actor_assistant: Assistant | None = None, description: str = "", type: str = "task",
                status: str = Task.Status.PENDING, owner: User | None = None, assistant: Assistant | None = None,
                source_chat=None, parent: Task | None = None, followers=(), metadata: dict | None = None,
                due_at=None, template=None) -> Task:
    """Create a task and its first activity ("Task created"), attributed to whoever created it."""
    task = Task.objects.create(account=account, title=title, description=description, type=type, status=status,
                               owner=owner, assistant=assistant, source_chat=source_chat, parent=parent,
                               metadata=metadata or {}, due_at=due_at, template=template)
    if followers:
        task.followers.set(followers)
    Activity.objects.create(account=account, task=task, type=Activity.Type.STATUS_CHANGE, content="Task created",
                            actor_user=actor_user, actor_assistant=actor_assistant, metadata={"status": status})
    return task
