"""Reads for tasks: every queryset carries the joins and prefetches its serializer needs."""
from operator import itemgetter

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Account, Assistant, User
from admin_catalog.models import TaskTemplate
from calendars_app.hooks import BookedMeetings
from tskr.exceptions import NotFound

from .models import Activity, Approval, Meeting, ScheduledAction, Task


def task_list(*, queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Tasks of one account (`queryset`, already scoped), newest first. No joins: the list selects the
    columns it needs (with the owner's, a join) and fetches the page's followers with `task_followers`."""
    return queryset.order_by("-created_at", "-id")


def task_get(*, queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Tasks to act on one at a time (`queryset`, already scoped): owner joined, followers prefetched, as
    `TaskSerializer` reads them."""
    return queryset.select_related("owner").prefetch_related("followers")


def task_followers(*, task_ids: list[str], columns: tuple[str, ...]) -> dict[str, list[dict]]:
    """The followers of these tasks, `{task id: [link rows]}` with the link's `columns` (the user's are
    `user__email`...), in one query (none for no tasks), in the order they were added."""
    followers: dict[str, list[dict]] = {task_id: [] for task_id in task_ids}
    if task_ids:
        # Sorted here rather than by ORDER BY: compiling the ordering cost more than sorting a page's links.
        links = Task.followers.through.objects.filter(task_id__in=task_ids).values("id", "task_id", *columns)
        for link in sorted(links, key=itemgetter("id")):
            followers[link["task_id"]].append(link)
    return followers


def task_filter_mine(queryset: QuerySet[Task], *, user: User) -> QuerySet[Task]:
    """Tasks the user owns or follows; a subquery rather than a join so no task is listed twice."""
    followed = Task.followers.through.objects.filter(user=user).values("task_id")
    return queryset.filter(Q(owner=user) | Q(id__in=followed))


def task_detail(*, queryset: QuerySet[Task]) -> QuerySet[Task]:
    """One task with everything the detail view embeds, in a fixed number of queries."""
    return task_get(queryset=queryset).prefetch_related(
        Prefetch("subtasks", queryset=Task.objects.select_related("owner").prefetch_related("followers")
                 .order_by("created_at", "id")),
        Prefetch("activities", queryset=Activity.objects.select_related("actor_user", "actor_assistant")
                 .order_by("created_at", "id")),
        Prefetch("meetings", queryset=Meeting.objects.order_by("start_at", "id")),
    )


def task_next_action(*, task_id: str) -> ScheduledAction | None:
    """The task's earliest action still to fire (its reminder, its next follow-up), or None."""
    return (ScheduledAction.objects.filter(task_id=task_id, status=ScheduledAction.Status.SCHEDULED)
            .order_by("due_at", "id").first())


_UNSET = object()


def task_references(*, account: Account, owner_id=_UNSET, follower_ids=None, parent_id=None, assistant_id=None,
                    template_id=None) -> dict:
    """Turn the IDs of a create/update body into rows, each looked up inside the account.

    Returns only the keys that were given (`owner` may be None: "no owner"). An unknown ID, or one
    of another account, is a 404 naming what was not found. Templates are platform-wide.
    """
    refs: dict = {}
    if owner_id is not _UNSET:
        refs["owner"] = None if owner_id is None else _one(User.objects.filter(account=account, id=owner_id),
                                                           "User", owner_id, "user_not_found")
    if follower_ids is not None:
        followers = list(User.objects.filter(account=account, id__in=set(follower_ids)))
        missing = set(follower_ids) - {user.id for user in followers}
        if missing:
            raise NotFound(f"User not found: {', '.join(sorted(missing))}", error_code="user_not_found")
        refs["followers"] = followers
    if parent_id is not None:
        refs["parent"] = _one(Task.objects.filter(account=account, id=parent_id), "Parent task", parent_id,
                              "parent_task_not_found")
    if assistant_id is not None:
        refs["assistant"] = _one(Assistant.objects.filter(account=account, id=assistant_id), "Assistant",
                                 assistant_id, "assistant_not_found")
    if template_id is not None:
        refs["template"] = _one(TaskTemplate.objects.filter(id=template_id), "Task template", template_id,
                                "template_not_found")
    return refs


def _one(queryset: QuerySet, label: str, object_id: str, error_code: str):
    obj = queryset.first()
    if obj is None:
        raise NotFound(f"{label} not found: {object_id}", error_code=error_code)
    return obj


def meeting_get(*, task: Task, meeting_id: str) -> Meeting:
    """One meeting of a task (404 `meeting_not_found` for another task's or account's)."""
    meeting = (Meeting.objects.select_related("owner").filter(account_id=task.account_id, task=task, id=meeting_id)
               .first())
    if meeting is None:
        raise NotFound("Meeting not found", error_code="meeting_not_found")
    return meeting


def meetings_booked() -> BookedMeetings:
    """Every account's meetings, for calendars_app's availability (`calendars_app.hooks.booked_meetings`),
    which narrows them to its participants' own."""
    return BookedMeetings(all=Meeting.objects.all(), holding_time=Meeting.objects.filter(status__in=Meeting.ACTIVE))


def approval_list(*, queryset: QuerySet[Approval], user: User) -> QuerySet[Approval]:
    """The approvals `user` decides on (`queryset`, already scoped), newest first."""
    return queryset.filter(owner=user).order_by("-created_at", "-id")
