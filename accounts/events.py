"""The one function every app emits events through: `event_emit`, called inside the app's own transaction.

The event row is the outbox: written in the caller's transaction, it exists exactly when the change
does (a rolled-back change emits nothing, a committed one is never lost). Emitting costs one INSERT on
the write path: on PostgreSQL a trigger on the events table wakes the dispatcher at commit, which fans
the event out into one delivery per matching endpoint (`delivery.events_dispatch`); its periodic sweep
dispatches any event whose wake-up was missed.
"""
import json

from django.db import connection
from django.utils import timezone

from tskr.infra.ids import derived_id, new_id
from tskr.infra.sql import table

from .delivery import deliver_on_commit
from .models import Event


def event_emit(*, account_id: str, type: str, data: dict, previous_attributes: dict | None = None,
               key: str | None = None) -> Event:
    """Record `type` with `data` (the resource as the API returns it) and start its delivery on commit.

    `previous_attributes`, for updates, holds the changed fields' old values (as Stripe's and Plane's do).
    `key` makes the emission idempotent: the event's id is derived from it, so work that may run twice (a
    retried agent step, a scheduled action fired again after a crash) records and delivers the event once;
    the second call returns the first event.
    """
    event = _event(account_id=account_id, type=type, data=data, previous_attributes=previous_attributes, key=key)
    if not _events_insert([event]):
        return Event.objects.get(id=event.id)
    deliver_on_commit(account_id=account_id, event_id=event.id)
    return event


def events_emit_many(events: list[dict]) -> None:
    """`event_emit` for several events (each a dict of its keyword arguments) in one INSERT, in the order
    given: the events of one change (a task's `task.updated` and `task.status_changed`) or of writes made in
    batches (the scheduled actions a dispatcher fires together). A keyed event already recorded is left
    as it is, as `event_emit` leaves it."""
    keyed = [derived_id("evt", spec["key"]) for spec in events if spec.get("key") is not None]
    recorded = set(Event.objects.filter(id__in=keyed).values_list("id", flat=True)) if keyed else set()
    rows = [event for event in (_event(**spec) for spec in events) if event.id not in recorded]
    _events_insert(rows)
    for event in rows:
        deliver_on_commit(account_id=event.account_id, event_id=event.id)


def _event(*, account_id: str, type: str, data: dict, previous_attributes: dict | None = None,
           key: str | None = None) -> Event:
    if previous_attributes is not None:
        data = {**data, "previousAttributes": previous_attributes}
    event = Event(id=derived_id("evt", key) if key is not None else new_id("evt"), account_id=account_id,
                  type=type, data=data, created_at=timezone.now())
    event._state.adding, event._state.db = False, connection.alias
    return event


_COLUMNS = ("id", "account_id", "type", "data", "created_at")


def _events_insert(events: list[Event]) -> int:
    """INSERT the events whose ids are not taken (a keyed event recorded before); how many were written.

    Written as SQL rather than `save()`, `get_or_create()` or `bulk_create()` because this statement is on
    every write path that emits: the ORM's building of it was a large share of emitting's cost, a keyed
    emit through `get_or_create` took a SELECT and a savepoint around the INSERT, and `bulk_create` sends
    PostgreSQL arrays whose text psycopg escapes slowly (bench/README.md). With `ON CONFLICT DO NOTHING`
    (PostgreSQL, and every SQLite Django supports) the statement's row count says what is new.
    """
    if not events:
        return 0
    adapt, written = connection.ops.adapt_datetimefield_value, 0
    size = connection.ops.bulk_batch_size(_COLUMNS, events)  # SQLite's bound on parameters
    with connection.cursor() as cursor:
        for start in range(0, len(events), size):
            batch = events[start:start + size]
            cursor.execute(
                f"INSERT INTO {table(Event)} ({', '.join(_COLUMNS)}) VALUES "
                f"{', '.join(['(%s, %s, %s, %s, %s)'] * len(batch))} ON CONFLICT (id) DO NOTHING",
                [value for event in batch for value in
                 (event.id, event.account_id, event.type, json.dumps(event.data), adapt(event.created_at))])
            written += cursor.rowcount
    return written


def changed_attributes(before: dict, after: dict, *, ignore: tuple[str, ...] = ("updatedAt",)) -> dict:
    """The old values of the fields that differ between two API representations of one resource."""
    return {key: value for key, value in before.items() if key not in ignore and after.get(key) != value}
