"""The agent's hot reads, written as SQL (`tskr.infra.sql` says why): the step's, and the open tasks chat
processing shows the engine for every message; they keep one shape, and merge what the ORM would read
in several queries into one.
"""
from functools import cache

from django.db import connection
from django.db.models import prefetch_related_objects

from accounts.models import Account, Assistant, User
from conversations.models import Chat, Message
from directory.models import Contact, UserIdentifier

from tskr.infra.sql import Columns, quote, table

from ..models import Meeting, Task


@cache
def _locked_sql(vendor: str) -> tuple[str, list[Columns]]:
    """The task locked with what a step reads of it, in one SELECT: its account, owner, assistant, source
    chat and that chat's assistant, and its source message (joined on `metadata.sourceMessageId`:
    `json_extract` on SQLite, whose `->>` needs 3.38), and whether it has followers. Each joined table costs PostgreSQL's planner more
    than the row costs to read, so the rare ones stay out: the followers are read only when there are
    some, the message's sender only when it is asked for (a message without a `from`)."""
    parts = [Columns(Task, "t"), Columns(Account, "a"), Columns(User, "o"), Columns(Assistant, "s"),
             Columns(Chat, "c"), Columns(Assistant, "ca"), Columns(Message, "m")]
    followers = quote(Task.followers.through._meta.db_table)
    source = ("t.metadata ->> 'sourceMessageId'" if vendor == "postgresql"
              else "json_extract(t.metadata, '$.sourceMessageId')")
    sql = (f"SELECT {', '.join(part.sql for part in parts)},"
           f" EXISTS (SELECT 1 FROM {followers} tf WHERE tf.task_id = t.id) FROM {table(Task)} t"
           f" JOIN {table(Account)} a ON a.id = t.account_id"
           f" LEFT JOIN {table(User)} o ON o.id = t.owner_id"
           f" LEFT JOIN {table(Assistant)} s ON s.id = t.assistant_id"
           f" LEFT JOIN {table(Chat)} c ON c.id = t.source_chat_id"
           f" LEFT JOIN {table(Assistant)} ca ON ca.id = c.assistant_id"
           f" LEFT JOIN {table(Message)} m ON m.id = ({source})"
           f" AND m.chat_id = t.source_chat_id AND m.account_id = t.account_id"
           f" WHERE t.account_id = %s AND t.id = %s")
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF t"
    return sql, parts


def task_locked(*, account_id: str, task_id: str) -> tuple[Task | None, Message | None]:
    """The task with its row locked for the step (the caller is in a transaction), its relations loaded
    as `select_related("account", "owner", "assistant", "source_chat__assistant")` and
    `prefetch_related("followers")` load them, and its source message (chat processing records it as
    `metadata.sourceMessageId`; None when there is none). One query, two when the task has followers."""
    sql, parts = _locked_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id, task_id])
        row = cursor.fetchone()
    if row is None:
        return None, None
    loaded, start = [], 0
    for part in parts:
        loaded.append(part.load(row[start:start + len(part)]))
        start += len(part)
    task, account, owner, assistant, chat, chat_assistant, message = loaded
    task.account, task.owner, task.assistant, task.source_chat = account, owner, assistant, chat
    if chat is not None:
        chat.assistant = chat_assistant
    if row[start]:
        prefetch_related_objects([task], "followers")
    else:  # none: the task's events say so without asking the database, as task_create does
        task._prefetched_objects_cache = {"followers": task.followers.none()}
    if message is not None:
        message.chat = chat
    return task, message


@cache
def _in_hand_sql(statuses: int) -> tuple[str, list[Columns]]:
    parts = [Columns(Task, "t"), Columns(User, "o")]
    marks = ", ".join(["%s"] * statuses)
    return (f"SELECT {', '.join(part.sql for part in parts)} FROM {table(Task)} t"
            f" LEFT JOIN {table(User)} o ON o.id = t.owner_id"
            f" WHERE t.account_id = %s AND t.source_chat_id = %s AND (t.status IN ({marks})"
            f" OR (t.status = %s AND t.type = %s AND EXISTS (SELECT 1 FROM {table(Meeting)} m"
            f" WHERE m.account_id = t.account_id AND m.task_id = t.id AND m.status IN (%s, %s) AND m.start_at > %s)))"
            f" ORDER BY t.updated_at DESC, t.id DESC LIMIT %s"), parts


def tasks_in_hand(*, account_id: str, chat_id: str, open_statuses: tuple[str, ...], skill: str, now,
                  limit: int) -> list[Task]:
    """The chat's tasks in `open_statuses`, and its completed `skill` tasks whose booked (or pending)
    meeting starts after `now`; newest first, at most `limit`, each with its owner loaded. Chat
    processing asks this of every message, mostly of a chat that has none: one prepared statement."""
    sql, parts = _in_hand_sql(len(open_statuses))
    values = [*open_statuses, Task.Status.COMPLETED, skill, *Meeting.ACTIVE]
    params = [account_id, chat_id, *map(str, values), connection.ops.adapt_datetimefield_value(now), limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    tasks = []
    for row in rows:
        task, owner = parts[0].load(row[:len(parts[0])]), parts[1].load(row[len(parts[0]):])
        task.owner = owner
        tasks.append(task)
    return tasks


def handles_read(*, task: Task, keys: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Which handle keys are identifiers of users of the account (key -> user id); the zones of the task
    owner's contacts with those addresses (key -> `timezone`, set ones only); and the owner's own
    identifiers (is a recipient the owner?). One query: the three reads have one shape (a UNION ALL)."""
    marks = ", ".join(["%s"] * len(keys))
    branches, params = [], []
    if keys:
        branches.append(f"SELECT 'user', value, user_id FROM {table(UserIdentifier)}"
                        f" WHERE account_id = %s AND user_id IS NOT NULL AND value IN ({marks})")
        branches.append(f"SELECT 'zone', email, timezone FROM {table(Contact)}"
                        f" WHERE account_id = %s AND user_id = %s AND email IN ({marks}) AND timezone <> ''")
        params += [task.account_id, *keys, task.account_id, task.owner_id, *keys]
    branches.append(f"SELECT 'owner', value, user_id FROM {table(UserIdentifier)} WHERE user_id = %s")
    params.append(task.owner_id)
    by_identifier, contact_zones, owner_identifiers = {}, {}, []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        for kind, key, found in cursor.fetchall():
            if kind == "owner":
                owner_identifiers.append(key)
            else:
                (by_identifier if kind == "user" else contact_zones)[key] = found
    return by_identifier, contact_zones, owner_identifiers
