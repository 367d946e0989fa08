"""Supervision: the assistant's actions that speak or write calendars for someone, held for the task
owner's approval when the owner supervises (`preferences.scheduling.defaults.supervision`).

Every action of the agent goes through `action_submit`, so supervision is enforced here, in code, and
never left to the model. An action is a kind and a JSON payload (the action exactly as it will run).
`supervised` holds every booking, reschedule and cancellation and every message to anyone but the owner
as an `Approval`; `unsupervised` runs them at once. Approving runs the action exactly once: the
approval is claimed by a conditional update before anything runs, so a second approver gets 409.
The agent reacts to decisions through the `approval_decided` hook.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.events import event_emit, events_emit_many
from accounts.models import EventType, User
from calendars_app.services.booking import CalendarProviderError
from conversations.models import Message
from directory.selectors import user_preferences
from tskr.exceptions import ApplicationError, Conflict, Forbidden
from tskr.hooks import Hook
from tskr.infra.ids import derived_id
from tskr.infra.sql import insert

from .models import Approval, Meeting, Task
from .outbound import outbound_message_send
from .services import meeting_book, meeting_cancel, meeting_reschedule

Kind = Approval.Kind

approval_decided = Hook("approval_decided", "An approval was approved (its action ran), rejected or expired: "
                                            "the agent continues the task (`approval=`, `outcome=` the "
                                            "ActionOutcome's result or None). Runs after the decision is stored.")


@dataclass(frozen=True)
class ActionOutcome:
    """What submitting an action did: ran it (`result`: the Message or Meeting) or held it (`approval`)."""

    approval: Approval | None = None
    result: Message | Meeting | None = None


class ApprovalNotOwned(Forbidden):
    error_code = "approval_not_owned"
    default_message = "Only the task's owner decides on this approval"


class ApprovalNotPending(Conflict):
    error_code = "approval_not_pending"
    default_message = "This approval was already decided or has expired"


def _owner(task: Task) -> User:
    if task.owner_id is None:
        raise Conflict("This task has no owner to act for", error_code="task_has_no_owner")
    return task.owner


def _needs_approval(*, owner: User, kind: str, payload: dict, supervision: str | None,
                    owner_identifiers: list[str] | None) -> bool:
    if supervision is None:
        supervision = user_preferences(user=owner, skill="scheduling")["defaults"]["supervision"]
    if supervision != "supervised":
        return False
    if kind != Kind.SEND_MESSAGE:
        return True
    if owner_identifiers is None:
        owner_identifiers = list(owner.identifiers.values_list("value", flat=True))
    owner_handles = {handle.lower() for handle in (owner.email, *owner_identifiers)}
    recipients = [*payload.get("to", []), *payload.get("cc", [])]
    return any(recipient.lower() not in owner_handles for recipient in recipients)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _execute(*, task: Task, kind: str, payload: dict, key: str, owner: User,
             events: list[dict] | None = None) -> Message | Meeting:
    """Run one action. Ids are derived from `key`, so running it again finds what the first run made."""
    if kind == Kind.SEND_MESSAGE:
        return outbound_message_send(task=task, content=payload["content"], to=payload.get("to", []),
                                     cc=payload.get("cc", []), subject=payload.get("subject"),
                                     in_reply_to=payload.get("inReplyTo"), key=f"action:{key}", events=events)
    if kind == Kind.BOOK_MEETING:
        return meeting_book(task=task, actor_user=owner, start_at=_parse(payload["start"]),
                            end_at=_parse(payload["end"]), title=payload.get("title"),
                            timezone_name=payload.get("timezone"), attendees=payload.get("attendees", []),
                            meeting_type=payload.get("meetingType", Meeting.Type.VIRTUAL),
                            location=payload.get("location", ""), meeting_id=derived_id("mtg", f"action:{key}"))
    if kind == Kind.RESCHEDULE_MEETING:
        return meeting_reschedule(task=task, meeting_id=payload["meetingId"], actor_user=owner,
                                  start_at=_parse(payload["start"]), end_at=_parse(payload["end"]))
    return meeting_cancel(task=task, meeting_id=payload["meetingId"], actor_user=owner)


@cache
def _approval_serializer():
    """One serializer for every approval's event data: its fields are built once (a serializer builds
    them on first use, deep-copying the declared ones), and `to_representation` keeps no state."""
    from .api.serializers import ApprovalSerializer  # the serializers import this module

    return ApprovalSerializer()


def _approval_data(approval: Approval) -> dict:
    return _approval_serializer().to_representation(approval)


def _result_reference(result: Message | Meeting) -> dict:
    return {"messageId": result.id} if isinstance(result, Message) else {"meetingId": result.id}


def action_submit(*, task: Task, kind: str, payload: dict, key: str, supervision: str | None = None,
                  owner_identifiers: list[str] | None = None, events: list[dict] | None = None) -> ActionOutcome:
    """Run the action now, or hold it for the owner's approval when supervision asks (module doc).

    `key` identifies the step that submits (for instance the task, the inbound message and the action):
    submitting again with it answers the same approval, or finds what the first run produced.
    `supervision` and `owner_identifiers`: the owner's `preferences.scheduling.defaults.supervision` and
    identifiers' values when the caller has read them already (the agent's participants), else read here.
    `events`: a list the caller emits itself later in the same transaction (`events_emit_many`, one
    INSERT with its own events); `approval.requested` (or a message's `message.outbound`) is appended to
    it instead of emitted here.
    """
    owner = _owner(task)
    if not _needs_approval(owner=owner, kind=kind, payload=payload, supervision=supervision,
                           owner_identifiers=owner_identifiers):
        return ActionOutcome(result=_execute(task=task, kind=kind, payload=payload, key=key, owner=owner,
                                             events=events))
    now = timezone.now()
    approval = Approval(account_id=task.account_id, key=key, task=task, chat_id=task.source_chat_id, owner=owner,
                        kind=kind, payload=payload, created_at=now,
                        expires_at=now + timedelta(hours=settings.TSKR_APPROVAL_TTL_HOURS))
    # A step submits a key once and only a retried one finds it: one INSERT in the common case, with
    # neither a read first nor the savepoint that catching the constraint's IntegrityError would need.
    if not insert(approval, unless_conflict_on=("account_id", "key")):
        return ActionOutcome(approval=Approval.objects.get(account_id=task.account_id, key=key))
    event = {"account_id": task.account_id, "type": EventType.APPROVAL_REQUESTED, "data": _approval_data(approval)}
    if events is None:
        event_emit(**event)
    else:
        events.append(event)
    return ActionOutcome(approval=approval)


def _claim(approval: Approval, *, actor_user: User, status: str, **fields) -> Approval:
    """Decide a pending approval once: the conditional UPDATE lets exactly one decider through."""
    if approval.owner_id != actor_user.id:
        raise ApprovalNotOwned()
    now = timezone.now()
    claimed = (Approval.objects.filter(pk=approval.pk, status=Approval.Status.PENDING, expires_at__gt=now)
               .update(status=status, decided_at=now, decided_by=actor_user, **fields))
    if not claimed:
        raise ApprovalNotPending()
    approval.refresh_from_db()
    return approval


def approval_approve(*, approval: Approval, actor_user: User, content: str | None = None) -> Approval:
    """Approve and run the held action (a message's `content` may be edited first). Exactly once: a
    concurrent or repeated approve gets 409 `approval_not_pending`. When the action cannot run (the slot
    was taken meanwhile, the meeting is gone), the approval goes back to pending and the error is
    answered, so the owner may reject it or approve once the cause is gone; a provider failure that a
    retry may fix counts as run (the meeting is finished by the booking sweep)."""
    payload = approval.payload
    if content is not None and approval.kind == Kind.SEND_MESSAGE:
        payload = {**payload, "content": content}
    approval = _claim(approval, actor_user=actor_user, status=Approval.Status.APPROVED, payload=payload)
    task = Task.objects.select_related("owner", "source_chat").get(pk=approval.task_id)
    try:
        with transaction.atomic():
            result = _execute(task=task, kind=approval.kind, payload=payload, key=approval.key, owner=task.owner)
    except CalendarProviderError as exc:
        if not exc.transient:
            _unclaim(approval)
            raise
        result = Meeting.objects.get(pk=derived_id("mtg", f"action:{approval.key}"))
    except ApplicationError:
        _unclaim(approval)
        raise
    with transaction.atomic():
        approval.result = _result_reference(result)
        approval.save(update_fields=["result"])
        event_emit(account_id=approval.account_id, type=EventType.APPROVAL_APPROVED, data=_approval_data(approval))
        approval_decided(approval=approval, outcome=result)
    return approval


def _unclaim(approval: Approval) -> None:
    Approval.objects.filter(pk=approval.pk).update(status=Approval.Status.PENDING, decided_at=None, decided_by=None)


@transaction.atomic
def approval_reject(*, approval: Approval, actor_user: User, reason: str = "") -> Approval:
    """Reject: the action never runs. The agent hears of it (a rejected booking: other times next)."""
    approval = _claim(approval, actor_user=actor_user, status=Approval.Status.REJECTED, reason=reason)
    event_emit(account_id=approval.account_id, type=EventType.APPROVAL_REJECTED, data=_approval_data(approval))
    approval_decided(approval=approval, outcome=None)
    return approval


def approvals_expire() -> int:
    """Expire the pending approvals whose time is up (the beat sweep), each with its event; how many."""
    expired = 0
    due = Approval.objects.filter(status=Approval.Status.PENDING, expires_at__lte=timezone.now())
    for approval_id in due.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            approval = (Approval.objects.select_for_update(skip_locked=True)
                        .filter(pk=approval_id, status=Approval.Status.PENDING).first())
            if approval is None:
                continue
            approval.status, approval.decided_at = Approval.Status.EXPIRED, timezone.now()
            approval.save(update_fields=["status", "decided_at"])
            event_emit(account_id=approval.account_id, type=EventType.APPROVAL_EXPIRED,
                       data=_approval_data(approval))
            approval_decided(approval=approval, outcome=None)
            expired += 1
    return expired


def approvals_withdraw(*, task: Task, reason: str) -> int:
    """Reject the task's pending approvals on its owner's behalf because what they hold no longer applies
    (the owner called the task off, the meeting moved): each with its `approval.rejected` event, the
    agent not told (it withdrew them itself). Returns how many. Call inside the step's transaction: the
    rows locked, then one UPDATE and one INSERT of events whatever their number."""
    pending = list(Approval.objects.select_for_update().filter(account_id=task.account_id, task=task,
                                                                status=Approval.Status.PENDING))
    if not pending:
        return 0
    decided = {"status": Approval.Status.REJECTED, "decided_at": timezone.now(), "reason": reason,
               "decided_by_id": task.owner_id}
    Approval.objects.filter(id__in=[approval.id for approval in pending]).update(**decided)
    for approval in pending:
        for name, value in decided.items():
            setattr(approval, name, value)
    events_emit_many([{"account_id": approval.account_id, "type": EventType.APPROVAL_REJECTED,
                       "data": _approval_data(approval)} for approval in pending])
    return len(pending)
