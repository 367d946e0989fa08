"""The one function every app emits events through: `event_emit`, called inside the app's own transaction.

The event row is the outbox: written in the caller's transaction, it exists exactly when the change
does (a rolled-back change emits nothing, a committed one is never lost). Emitting costs one INSERT on
the write path: on PostgreSQL a trigger on the events table wakes the dispatcher at commit, which fans
the event out into one delivery per matching endpoint (`delivery.events_dispatch`); its periodic sweep
dispatches any event whose wake-up was missed.
"""
from tskr.ids import derived_id

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
    if key is not None:
        event, created = Event.objects.get_or_create(id=derived_id("evt", key),
                                                     defaults={"account_id": account_id, "type": type, "data": data})
        if not created:
            return event
    else:
        event = Event.objects.create(account_id=account_id, type=type, data=data)
    deliver_on_commit(account_id=account_id, event_id=event.id)
    return event


def events_emit(*, account_id: str, events: list[tuple[str, dict, dict | None]]) -> list[Event]:
    """Several events of one change, `(type, data, previous_attributes)` each, recorded in one INSERT (in
    the order given) and each delivered as `event_emit` delivers it: a task's `task.updated` and
    `task.status_changed` cost one statement, not two."""
    rows = Event.objects.bulk_create([
        Event(account_id=account_id, type=type,
              data=data if previous is None else {**data, "previousAttributes": previous})
        for type, data, previous in events])
    for event in rows:
        deliver_on_commit(account_id=account_id, event_id=event.id)
    return rows


def changed_attributes(before: dict, after: dict, *, ignore: tuple[str, ...] = ("updatedAt",)) -> dict:
    """The old values of the fields that differ between two API representations of one resource."""
    return {key: value for key, value in before.items() if key not in ignore and after.get(key) != value}
