"""The schedule of the assistant's future actions: planning, cancelling, and the dispatcher that fires them.

Planning writes `ScheduledAction` rows (`action_plan`, `actions_cancel`). The dispatcher
(`actions_dispatch_due`: Celery beat every TSKR_DISPATCH_INTERVAL_SECONDS, or `manage.py
dispatch_due_actions`) claims due rows, re-reads each one's target and fires it through its kind
(`ActionKind`, registered by `tasks_app.reminders`), so no Celery ETA or countdown ever holds a future
action (a long ETA outlives the broker's visibility timeout and runs twice).

Exactly once: a claim is a lease (`locked_until`) with a token (`claimed_by`), taken with
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (several dispatchers never take the same row) and by a
conditional UPDATE on SQLite (which serialises writers). The fire itself is one transaction (one for
a whole claimed batch, `actions_fire_batch`, but for the kinds that call the engine first) that
re-locks the row, checks it is still scheduled and still ours, writes the side effects (with ids
derived from the action) and marks it fired: a worker killed before its commit leaves nothing behind
but a claim that expires, and the next dispatcher fires the action once.
"""
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from tskr.infra.ids import new_id

from .models import ScheduledAction

logger = logging.getLogger("tskr.schedule")

#: How long a claim holds a row: longer than the slowest fire (a follow-up's engine call has 25 s).
LEASE_SECONDS = 60
#: Attempts before an action whose fire keeps failing is marked failed.
MAX_ATTEMPTS = 5
#: Rows one claim takes; a dispatch pass claims batches until nothing is due.
CLAIM_BATCH = 100
#: How long one pass keeps claiming batches: well inside the Celery task's time limit.
PASS_BUDGET_SECONDS = 60
WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class ActionKind:
    """What the dispatcher does for one kind of action.

    `load(action)`: the target as it is now (locked when it will be written), or None when it is gone or
    finished. `version(action, target)`: its fingerprint, compared with `action.target_version`.
    `prepare(action)`: work done before the fire's transaction (an engine call), handed to `fire`; a kind
    with one is fired alone, the others in batches (`actions_fire_batch`).
    `fire(action, target, prepared)`: the side effects, inside the transaction (`action.fired_at` is the
    moment of the fire); returns the status to record (fired, or cancelled when on a closer look there is
    nothing to do).
    `load_many(actions)` and `fire_many([(action, target)])`, optional: the same for a batch, in one query
    per table instead of a few per action (`load_many` answers {action id: target or None}; `fire_many`
    fires them all).
    """

    load: Callable[[ScheduledAction], object | None]
    version: Callable[[ScheduledAction, object], str]
    fire: Callable[[ScheduledAction, object, object], str]
    prepare: Callable[[ScheduledAction], object] | None = None
    load_many: Callable[[list[ScheduledAction]], dict[str, object | None]] | None = None
    fire_many: Callable[[list[tuple[ScheduledAction, object]]], None] | None = None


KINDS: dict[str, ActionKind] = {}


def register_kind(kind: str, handler: ActionKind) -> None:
    KINDS[kind] = handler


# -- wall times ------------------------------------------------------------------------------------

def wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time. A time skipped by a spring-forward change reads with the
    offset before the change (02:30 in a gap becomes 03:30), as calendars do."""
    return wall.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def utc_to_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


# -- planning ----------------------------------------------------------------------------------------

@transaction.atomic
def action_plan(*, account_id: str, kind: str, key: str, zone: ZoneInfo, wall_time: datetime | None = None,
                due_at: datetime | None = None, version: str = "", task_id: str = "", meeting_id: str = "",
                event_id: str = "", user_id: str | None = None, payload: dict | None = None) -> ScheduledAction:
    """Schedule the firing named `key`, once, at `wall_time` in `zone` (or at the instant `due_at`).

    Planning a key again updates its row while it is still scheduled (a re-plan: new time, new version);
    a cancelled row is scheduled again (its source came back, e.g. a meeting moved back); a fired or
    failed one is left alone: that firing has happened.
    """
    if wall_time is None:
        wall_time = utc_to_wall(due_at, zone)
    due_at = wall_to_utc(wall_time, zone)
    values = {"account_id": account_id, "kind": kind, "due_at": due_at, "wall_time": wall_time.strftime(WALL_FORMAT),
              "zone": zone.key, "target_version": version, "task_id": task_id, "meeting_id": meeting_id,
              "event_id": event_id, "user_id": user_id, "payload": payload or {}}
    action, created = ScheduledAction.objects.select_for_update().get_or_create(key=key, defaults=values)
    if created or action.status in (ScheduledAction.Status.FIRED, ScheduledAction.Status.FAILED):
        return action
    for name, value in values.items():
        setattr(action, name, value)
    action.status = ScheduledAction.Status.SCHEDULED
    action.attempts, action.last_error, action.claimed_by, action.locked_until = 0, "", "", None
    action.save()
    return action


def actions_cancel(*, reason: str, keep_keys=(), **target) -> int:
    """Cancel the scheduled actions of a target (`task_id=`, `meeting_id=`, `event_id=`, optionally with
    `kind=`), except `keep_keys`. A row being fired right now is cancelled too: its fire finds it no
    longer scheduled and writes nothing."""
    return (ScheduledAction.objects.filter(status=ScheduledAction.Status.SCHEDULED, **target)
            .exclude(key__in=list(keep_keys))
            .update(status=ScheduledAction.Status.CANCELLED, last_error=reason, updated_at=timezone.now()))


# -- the dispatcher ----------------------------------------------------------------------------------

def _due(now: datetime):
    return ScheduledAction.objects.filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now),
                                          status=ScheduledAction.Status.SCHEDULED, due_at__lte=now)


@transaction.atomic
def actions_claim(*, now: datetime, limit: int = CLAIM_BATCH) -> tuple[str, list[tuple[str, str]]]:
    """(claim token, [(id, kind)]) of up to `limit` due actions, oldest due first, leased to the caller for
    LEASE_SECONDS. Rows another dispatcher holds are skipped, not waited for."""
    token = new_id("clm")
    candidates = _due(now).order_by("due_at")
    if connection.vendor == "postgresql":
        candidates = candidates.select_for_update(skip_locked=True)
    ids = list(candidates.values_list("id", flat=True)[:limit])
    if ids:
        # conditional: on SQLite two dispatchers may read the same rows; the first UPDATE wins them
        _due(now).filter(id__in=ids).update(claimed_by=token, claimed_at=now,
                                            locked_until=now + timedelta(seconds=LEASE_SECONDS),
                                            attempts=F("attempts") + 1)
        return token, list(ScheduledAction.objects.filter(id__in=ids, claimed_by=token).order_by("due_at")
                           .values_list("id", "kind"))
    return token, []


def action_fire(*, action_id: str, kind: str, token: str, now: datetime | None = None) -> str:
    """Fire one claimed action; returns what became of it (fired, cancelled, lost, retry, failed).

    1. Its kind's `prepare`, outside any transaction (it may call the engine).
    2. In one transaction: lock the row; go on only if it is still scheduled and still claimed by
       `token` ("lost" otherwise: cancelled meanwhile, or another dispatcher took it after our lease).
    3. Re-read the target: gone, finished or changed since planning (its version) -> cancelled.
    4. The kind's side effects, and the status they answer (fired, or cancelled).
    A failure releases the claim with a back-off, until MAX_ATTEMPTS mark it failed.
    """
    handler = KINDS[kind]
    try:
        prepared = None
        if handler.prepare is not None:
            action = ScheduledAction.objects.filter(id=action_id, claimed_by=token,
                                                    status=ScheduledAction.Status.SCHEDULED).first()
            if action is None:
                return "lost"
            prepared = handler.prepare(action)
        with transaction.atomic():
            action = (ScheduledAction.objects.select_for_update()
                      .filter(id=action_id, claimed_by=token, status=ScheduledAction.Status.SCHEDULED).first())
            if action is None:
                return "lost"
            action.fired_at = now or timezone.now()  # the moment of the fire, for the kind to plan from
            target = handler.load(action)
            if target is None:
                status, action.last_error = ScheduledAction.Status.CANCELLED, "target gone or finished"
            elif handler.version(action, target) != action.target_version:
                status, action.last_error = ScheduledAction.Status.CANCELLED, "target changed since planning"
            else:
                status = handler.fire(action, target, prepared)
            action.status = status
            if status != ScheduledAction.Status.FIRED:
                action.fired_at = None
            action.locked_until = None
            action.save(update_fields=["status", "fired_at", "locked_until", "last_error", "updated_at"])
            return status
    except Exception as exc:  # recorded on the row and retried: one bad action must not stop the others
        logger.exception("scheduled action %s failed", action_id)
        return _action_failed(action_id=action_id, token=token, error=f"{exc.__class__.__name__}: {exc}",
                              now=now or timezone.now())


def _action_failed(*, action_id: str, token: str, error: str, now: datetime) -> str:
    action = ScheduledAction.objects.filter(id=action_id, claimed_by=token,
                                            status=ScheduledAction.Status.SCHEDULED).first()
    if action is None:
        return "lost"
    outcome = _failure(action, error=error, now=now)
    ScheduledAction.objects.filter(id=action_id, claimed_by=token).update(
        last_error=action.last_error, locked_until=action.locked_until, updated_at=timezone.now(), status=action.status)
    return outcome


def _failure(action: ScheduledAction, *, error: str, now: datetime) -> str:
    """Record a failed fire on `action` (not saved): released with a back-off, or failed after MAX_ATTEMPTS."""
    gave_up = action.attempts >= MAX_ATTEMPTS
    action.last_error = error[:2000]
    action.locked_until = None if gave_up else now + timedelta(seconds=5 * 2 ** action.attempts)
    action.status = ScheduledAction.Status.FAILED if gave_up else ScheduledAction.Status.SCHEDULED
    action.fired_at = None
    return "failed" if gave_up else "retry"


def actions_fire_batch(*, claimed: list[tuple[str, str]], token: str, now: datetime | None = None) -> dict[str, str]:
    """Fire claimed actions of kinds without `prepare` together; returns {action id: outcome} as `action_fire`.

    One transaction for the batch (a fire costs its share of a dozen statements instead of a transaction
    and its own queries): the rows locked, the targets re-read and the side effects written per
    kind with `load_many`/`fire_many` where the kind has them, the rows marked in one UPDATE. Each fire
    keeps `action_fire`'s checks (still scheduled and ours, target unchanged since planning) and its
    derived ids. A kind's batch that raises is rolled back to its savepoint and fired action by action, each
    in a savepoint of its own, so one bad action fails alone; a batch whose transaction fails as a whole
    (a deadlock with a task's writer) is fired again through `action_fire`, one transaction each.
    """
    try:
        return _fire_batch(claimed=claimed, token=token, now=now)
    except Exception:
        logger.exception("a batch of %d scheduled actions failed: firing them one by one", len(claimed))
        return {action_id: action_fire(action_id=action_id, kind=kind, token=token, now=now)
                for action_id, kind in claimed}


@transaction.atomic
def _fire_batch(*, claimed: list[tuple[str, str]], token: str, now: datetime | None) -> dict[str, str]:
    outcomes = {action_id: "lost" for action_id, _ in claimed}  # cancelled meanwhile, or taken after our lease
    actions = list(ScheduledAction.objects.select_for_update().filter(
        id__in=list(outcomes), claimed_by=token, status=ScheduledAction.Status.SCHEDULED).order_by("due_at", "id"))
    fired_at = now or timezone.now()  # for the kinds to plan from; restamped once the batch is written
    by_kind: dict[str, list[ScheduledAction]] = {}
    for action in actions:
        action.fired_at = fired_at
        action.locked_until = None
        by_kind.setdefault(action.kind, []).append(action)
    for kind, group in by_kind.items():
        handler = KINDS[kind]
        targets = handler.load_many(group) if handler.load_many else {action.id: handler.load(action) for action in group}
        due = []
        for action in group:
            target = targets[action.id]
            if target is None:
                action.status, action.last_error = ScheduledAction.Status.CANCELLED, "target gone or finished"
            elif handler.version(action, target) != action.target_version:
                action.status, action.last_error = ScheduledAction.Status.CANCELLED, "target changed since planning"
            else:
                due.append((action, target))
        _fire_group(handler, due, now=fired_at)
    written = timezone.now()  # the batch's side effects are written: what "fired" means, lateness included
    # one UPDATE per distinct outcome (fired, each reason to cancel, ...): bulk_update's CASE per row and
    # column cost more Python than the whole fire
    marked: dict[tuple, list[str]] = {}
    for action in actions:
        fired = action.status == ScheduledAction.Status.FIRED
        marked.setdefault((action.status, (now or written) if fired else None, action.locked_until,
                           action.last_error), []).append(action.id)
        outcomes[action.id] = action.status if action.status != ScheduledAction.Status.SCHEDULED else "retry"
    for (status, fired_at, locked_until, last_error), ids in marked.items():
        ScheduledAction.objects.filter(id__in=ids).update(status=status, fired_at=fired_at, locked_until=locked_until,
                                                          last_error=last_error, updated_at=written)
    return outcomes


def _fire_group(handler: ActionKind, due: list[tuple[ScheduledAction, object]], *, now: datetime) -> None:
    """Fire one kind's due actions of a batch (setting each one's status): together when the kind can, else
    (or when together failed) one by one, each in a savepoint so that a failure undoes only its own writes."""
    if handler.fire_many is not None and due:
        try:
            with transaction.atomic():
                handler.fire_many(due)
            for action, _ in due:
                action.status = ScheduledAction.Status.FIRED
            return
        except Exception:
            logger.exception("firing %d scheduled actions together failed: firing them one by one", len(due))
    for action, target in due:
        try:
            with transaction.atomic():
                action.status = handler.fire(action, target, None)
        except Exception as exc:  # recorded on the row and retried, as action_fire does
            logger.exception("scheduled action %s failed", action.id)
            _failure(action, error=f"{exc.__class__.__name__}: {exc}", now=now)


def actions_dispatch_due(*, now: datetime | None = None, limit: int | None = None,
                         budget_seconds: float = PASS_BUDGET_SECONDS) -> dict[str, int]:
    """One dispatcher pass: claim due actions in batches and fire each, until none is due, `limit`
    actions were taken or `budget_seconds` went by (the next pass goes on). `now` is the moment "due" is
    measured against (tests pass a future one). Returns how many actions ended in each outcome."""
    counts: dict[str, int] = {}
    taken = 0
    stop_at = time.monotonic() + budget_seconds
    while (limit is None or taken < limit) and time.monotonic() < stop_at:
        moment = now or timezone.now()
        token, claimed = actions_claim(now=moment,
                                       limit=CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - taken))
        if not claimed:
            break
        taken += len(claimed)
        together = [(action_id, kind) for action_id, kind in claimed if KINDS[kind].prepare is None]
        outcomes = actions_fire_batch(claimed=together, token=token, now=now) if together else {}
        for action_id, kind in claimed:
            if KINDS[kind].prepare is not None:  # its engine call runs outside any transaction
                outcomes[action_id] = action_fire(action_id=action_id, kind=kind, token=token, now=now)
        for outcome in outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def oldest_overdue_seconds() -> float | None:
    """For /health: how late the oldest action still waiting to fire is (None when nothing is overdue)."""
    now = timezone.now()
    oldest = (ScheduledAction.objects.filter(status=ScheduledAction.Status.SCHEDULED, due_at__lte=now)
              .aggregate(oldest=Min("due_at"))["oldest"])
    return None if oldest is None else round((now - oldest).total_seconds(), 3)
