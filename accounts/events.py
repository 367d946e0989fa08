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
    if previous_attributes is not None:
        data = {**data, "previousAttributes": previous_attributes}
    event = Event(id=derived_id("evt", key) if key is not None else new_id("evt"), account_id=account_id,
                  type=type, data=data, created_at=timezone.now())
    if not _event_insert(event):
        return Event.objects.get(id=event.id)
    event._state.adding, event._state.db = False, connection.alias
    deliver_on_commit(account_id=account_id, event_id=event.id)
    return event


def _event_insert(event: Event) -> bool:
    """INSERT the event unless its id is taken (a keyed event recorded before); True when it was written.

    Written as SQL rather than `Model.save()` or `get_or_create()` because this statement is on every
    write path that emits: the ORM's building of it was a large share of emitting's cost (bench/README.md),
    and a keyed emit through `get_or_create` took a SELECT and a savepoint around the INSERT. With
    `ON CONFLICT DO NOTHING` (PostgreSQL, and every SQLite Django supports) the one statement's row count
    says whether the row is new.
    """
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [event.id, event.account_id, event.type, json.dumps(event.data),
                                     connection.ops.adapt_datetimefield_value(event.created_at)])
        return cursor.rowcount == 1


_INSERT_SQL = (f"INSERT INTO {Event._meta.db_table} (id, account_id, type, data, created_at)"
               " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING")


def events_emit_many(events: list[dict]) -> list[Event]:
    """`event_emit` for several events (each a dict of its keyword arguments) in one INSERT, in the order
    given: the events of one change (a task's `task.updated` and `task.status_changed`) or of writes made in
    batches (the scheduled actions a dispatcher fires together). A keyed event already recorded is left
    as it is, as `event_emit` leaves it. Returns the events written."""
    rows = []
    for spec in events:
        data, previous = spec["data"], spec.get("previous_attributes")
        event = Event(account_id=spec["account_id"], type=spec["type"],
                      data=data if previous is None else {**data, "previousAttributes": previous})
        if spec.get("key") is not None:
            event.id = derived_id("evt", spec["key"])
        rows.append(event)
    keyed = [spec["key"] for spec in events if spec.get("key") is not None]
    recorded = set(Event.objects.filter(id__in=[derived_id("evt", key) for key in keyed])
                   .values_list("id", flat=True)) if keyed else set()
    written = Event.objects.bulk_create([event for event in rows if event.id not in recorded])
    for event in written:
        deliver_on_commit(account_id=event.account_id, event_id=event.id)
    return written


def changed_attributes(before: dict, after: dict, *, ignore: tuple[str, ...] = ("updatedAt",)) -> dict:
    """The old values of the fields that differ between two API representations of one resource."""
    return {key: value for key, value in before.items() if key not in ignore and after.get(key) != value}
