"""The scheduling agent's steps: the writes that carry a request through (propose, read the answer,
book, confirm). Every step runs under the task's lock (`task:<id>`, shared with task processing and
deletion) and in one transaction, and speaks through `approvals.action_submit`, which applies the
owner's supervision: a held action leaves the task waiting for its approval.

Entry points:
- `task_requested`: chat processing's hook for the tasks the engine asks for. Creates the task (a
  travel task with its brief) and, for a scheduling request ready to go, runs its first step after
  commit (`tasks.agent_task_start`: a worker with Redis, inline on the embedded default).
- `task_start`: the first step. Works out the plan (participants, duration, meeting type, window),
  then books a fixed time (when everyone is free) or proposes slots.
- `task_step_apply`: chat processing's hook when the engine decided a message continues an open task.
- `open_tasks_for_chat`: what the engine sees of the chat's open tasks.

Idempotency: each action's key is derived from the task and what it is about (the proposal round, the
booked time, the meeting confirmed), so a retried step submits nothing twice.
"""
import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone

from accounts.models import Account
from calendars_app.availability.slots import Participant, Rules, find_slots
from calendars_app.selectors import ParticipantContext, booking_conflicts, participants_busy_load, participants_load
from calendars_app.services.booking import CalendarProviderError
from conversations.addressing import handle, handle_key
from conversations.engine import Skill
from conversations.engine.scheduling import read_shift, read_when, read_window
from conversations.engine.types import OpenTask, SlotOption, StepAction, TaskStep
from conversations.hooks import StepResult
from conversations.models import Chat, Message
from conversations.selectors import chat_thread
from conversations.services import ChatBusy
from directory.selectors import user_preferences
from tskr.exceptions import ApplicationError
from tskr.infra.locks import hold_lock
from tskr.infra.sql import insert

from .. import reminders, services
from ..approvals import action_submit, approvals_withdraw
from ..models import Approval, Meeting, Task
from ..schedule import actions_cancel
from . import texts
from .plan import Plan, default_window, plan_build
from .reads import task_locked, tasks_in_hand

#: Slots offered per proposal, on different days where the window allows.
SLOTS_PER_PROPOSAL = 3
#: Proposed starts are aligned to this many minutes in the zone they are written in.
SLOT_INTERVAL = 30
#: How far a widened window reaches past the previous one when the owner agrees to look further out.
WIDEN_BY = timedelta(days=7)
OPEN_STATUSES = (Task.Status.PENDING, Task.Status.IN_PROGRESS, Task.Status.NEEDS_CLARIFICATION)
#: Tasks that wait for a time (`dueAt`), asked for when the request named none.
DATED_SKILLS = (Skill.REMINDERS, Skill.FOLLOWUPS)


class WaitingFor(TextChoices):
    """What a task in hand waits for (`metadata.waitingFor`)."""

    REPLY = "reply"
    OWNER = "owner"
    APPROVAL = "approval"


class AgentBusy(ChatBusy):
    """Another step, a task processing or a deletion holds the task: the step is tried again later (a
    ChatBusy, so that a queued chat job meeting it is deferred and retried as for a busy chat)."""

    error_code = "task_processing"
    default_message = "Task is already being processed"


@dataclass
class _Said:
    """What a step sent last (or holds for approval), for the process answer."""

    message: Message | None = None
    approval_id: str | None = None


# -- creation --------------------------------------------------------------------------------------
def task_requested(**fields) -> Task:
    """`task_create_requested` for chat processing, plus the agent's part: a travel task gets its brief from the
    owner's travel preferences; a scheduling task that is ready (`pending`) gets its first step queued
    for after commit."""
    from ..tasks import agent_task_start

    if fields.get("type") == Skill.TRAVEL and fields.get("owner") is not None:
        brief = travel_brief(user_preferences(user=fields["owner"], skill="travel"))
        fields["metadata"] = {**(fields.get("metadata") or {}), "brief": brief["fields"]}
        fields["description"] = "\n\n".join(part for part in (fields.get("description"), brief["text"]) if part)
    task = services.task_create_requested(**fields)  # a reminder's or follow-up's time becomes its dueAt
    if task.type == Skill.SCHEDULING and task.status == Task.Status.PENDING and task.owner_id:
        task_id, account_id = task.id, task.account_id
        # robust: run inline (eager, the embedded default), a failing step must not fail the committed request
        transaction.on_commit(lambda: agent_task_start.delay(task_id, account_id), robust=True)
    return task


def travel_brief(preferences: dict) -> dict:
    """The travel preferences a booker needs, as fields and as a line of text (unset ones left out)."""
    fields = {"seat": preferences.get("seatPreference"), "cabin": preferences.get("cabinClass"),
              "meal": preferences.get("mealPreference") or None,
              "airlines": list(preferences.get("airlinePreferences") or [])}
    parts = [f"{name} {value}" for name, value in (("seat", fields["seat"]), ("cabin", fields["cabin"]),
                                                      ("meal", fields["meal"])) if value]
    if fields["airlines"]:
        parts.append("airlines " + ", ".join(fields["airlines"]))
    return {"fields": fields, "text": "Travel brief: " + "; ".join(parts) + "." if parts else ""}


# -- reads -----------------------------------------------------------------------------------------
def open_tasks_for_chat(*, account: Account, chat: Chat, with_candidates: bool) -> tuple[OpenTask, ...]:
    """The chat's tasks still in hand and its scheduling tasks whose booked meeting is ahead (they may be
    moved or called off), newest first (at most 5), with their open proposals and booked meetings (two
    queries), and `with_candidates`, the candidates of the newest one waiting for a reply (three more)."""
    tasks = tasks_in_hand(account_id=account.id, chat_id=chat.id, open_statuses=OPEN_STATUSES, skill=Skill.SCHEDULING,
                          now=timezone.now(), limit=5)
    for task in tasks:
        task.account = account
    proposals, booked = {}, {}
    for meeting in Meeting.objects.filter(account_id=account.id, task__in=tasks, status__in=(
            Meeting.Status.PROPOSED, *Meeting.ACTIVE)).order_by("start_at") if tasks else ():
        (proposals if meeting.status == Meeting.Status.PROPOSED else booked).setdefault(meeting.task_id, meeting)
    waiting = next((task for task in tasks if (task.metadata or {}).get("waitingFor") == WaitingFor.REPLY
                    and "scheduling" in task.metadata), None) if with_candidates else None
    return tuple(_with_booked(_open_task(task, proposals.get(task.id), with_candidates=task is waiting),
                              booked.get(task.id)) for task in tasks)


def _with_booked(task: OpenTask, meeting: Meeting | None) -> OpenTask:
    if meeting is None or meeting.start_at <= timezone.now():
        return task
    return replace(task, booked=SlotOption(number=0, start=meeting.start_at, end=meeting.end_at))


def _open_task(task: Task, proposal: Meeting | None, *, with_candidates: bool) -> OpenTask:
    """A task as the engine sees it; the one waiting for a reply gets its candidates too (the next free
    slots not offered yet, numbered after the proposed ones), computed before any model call."""
    stored = (task.metadata or {}).get("scheduling") or {}
    zone = stored.get("timezone") or (task.owner.timezone if task.owner and task.owner.timezone else "UTC")
    slots = tuple(SlotOption(number=slot["number"], start=datetime.fromisoformat(slot["start"]),
                             end=datetime.fromisoformat(slot["end"])) for slot in (proposal.slots if proposal else []))
    candidates = ()
    if with_candidates:
        plan = Plan.from_stored(stored)
        contexts = participants_load(account=task.account, references=plan.internal)
        free = spread(_free_slots(task, plan, contexts), plan, SLOTS_PER_PROPOSAL)
        candidates = tuple(SlotOption(number=len(slots) + index, start=start, end=end)
                           for index, (start, end) in enumerate(free, start=1))
    return OpenTask(id=task.id, type=task.type, title=task.title, status=task.status,
                    waiting_for=(task.metadata or {}).get("waitingFor") or "", slots=slots, timezone=zone,
                    candidates=candidates, propose_next=bool((task.metadata or {}).get("proposeNext")))


# -- entry points ----------------------------------------------------------------------------------
def task_start(*, account_id: str, task_id: str) -> None:
    """The first step of a scheduling task (see the module docstring). Runs once: a task already
    planned, or no longer pending, is left alone; 409 AgentBusy while another run holds the task."""
    with hold_lock(services.task_lock_name(task_id), services.PROCESS_LOCK_TTL_MS, on_busy=AgentBusy()):
        with transaction.atomic():
            task, source = task_locked(account_id=account_id, task_id=task_id)
            if (task is None or task.type != Skill.SCHEDULING or task.status != Task.Status.PENDING
                    or "scheduling" in (task.metadata or {}) or task.owner_id is None):
                return
            plan, contexts = plan_build(task, source=source)
            _first(task, plan, contexts, in_reply_to=source.id if source else None)


def task_step_apply(*, account: Account, chat: Chat, message: Message, step: TaskStep) -> StepResult | None:
    """Act on an engine's decision that `message` continues an open task of `chat` (inside chat
    processing's transaction). None when the step names no open scheduling task of this chat: a
    message never touches another chat's task. 409 `task_processing` while another run holds it."""
    with hold_lock(services.task_lock_name(step.task_id), services.PROCESS_LOCK_TTL_MS, on_busy=AgentBusy()):
        task = _locked(account_id=account.id, task_id=step.task_id)
        if (task is not None and task.source_chat_id == chat.id and task.owner_id is not None
                and (step.action in CHANGES or (task.metadata or {}).get("moving"))):
            said = _change(task, step, message)
        elif (task is None or task.source_chat_id != chat.id or task.status not in OPEN_STATUSES
                or task.type not in (Skill.SCHEDULING, *DATED_SKILLS) or task.owner_id is None):
            return None
        else:
            said = _continue_dated(task, message) if task.type in DATED_SKILLS else _continue(task, step, message)
        if said is None:
            return None
        return StepResult(task_id=task.id, message=_reply_body(said.message), approval_id=said.approval_id)


def _locked(*, account_id: str, task_id: str) -> Task | None:
    """The task, its row locked for the step, with what the step reads of it (its account for the
    participants, its followers for the events of `_update`, which updates this very row): one query."""
    return task_locked(account_id=account_id, task_id=task_id)[0]


def _continue_dated(task: Task, message: Message) -> _Said | None:
    """A reminder or follow-up that was waiting for its time: the answer sets its `dueAt` (the schedule
    plans the firing), the task is pending again and the owner is told when. None when no time is named."""
    due_at = reminders.requested_due_at(text=message.content, owner=task.owner, said_at=message.timestamp)
    if due_at is None:
        return None
    assistant = services.task_assistant(task)
    services.task_update(task=task, actor_assistant=assistant, status=Task.Status.PENDING, due_at=due_at)
    zone, _ = reminders.zone_and_scheduling(task.owner)
    local = due_at.astimezone(zone)
    body = texts.dated_confirmation(skill=task.type, local=local)
    platform, _ = chat_thread(chat_id=task.source_chat_id)
    content = texts.wrap(body, platform=platform, assistant=assistant, to_name=task.owner.first_name)
    outcome = action_submit(task=task, kind="send_message", key=_key(task, f"dated:{message.id}"), payload={
        "content": content, "to": [reminders.owner_handle(task)], "cc": [], "subject": None, "inReplyTo": message.id})
    return _Said(message=outcome.result, approval_id=outcome.approval.id if outcome.approval else None)


def _continue(task: Task, step: TaskStep, message: Message) -> _Said:
    stored = (task.metadata or {}).get("scheduling")
    if stored is None:  # a clarification answered: the plan is made now, the answer read first
        plan, contexts = plan_build(task, text=message.content)
    else:
        plan = Plan.from_stored(stored)
        contexts = participants_load(account=task.account, references=plan.internal)
    waiting_for = (task.metadata or {}).get("waitingFor")
    if task.status == Task.Status.NEEDS_CLARIFICATION:
        task = _update(task, status=Task.Status.IN_PROGRESS, waiting_for=None)
    reply_to = message.id
    if step.action == StepAction.BOOK_SLOT:
        slot = next((slot for slot in _proposed(task) if slot["number"] == step.slot), None)
        if slot is not None:
            return _book(task, plan, contexts, start=datetime.fromisoformat(slot["start"]), slot_number=slot["number"],
                         in_reply_to=reply_to)
        return _propose(task, plan, contexts, in_reply_to=reply_to)
    if step.action == StepAction.BOOK_TIME and step.start is not None:
        return _book(task, plan, contexts, start=step.start, slot_number=None, in_reply_to=reply_to)
    if step.action == StepAction.ASK_OWNER:
        return _ask_owner(task, plan, question=step.text or texts.widen_question(plan=plan), in_reply_to=reply_to)
    if step.action == StepAction.CONTINUE:
        if waiting_for == WaitingFor.OWNER:
            plan = _widened(plan, message)
        elif stored is not None:  # the answer may change the duration, the window or name a time
            plan, contexts = plan_build(task, text=message.content)
        return _first(task, plan, contexts, in_reply_to=reply_to)
    return _propose(task, plan, contexts, in_reply_to=reply_to)


def _widened(plan: Plan, message: Message) -> Plan:
    """The window the owner agreed to: the days their answer names, else a week past the old end."""
    named = read_window(message.content, zone=plan.zone, now=message.timestamp)
    start, end = named or (max(plan.window_end, timezone.now()), plan.window_end + WIDEN_BY)
    return Plan(**{**plan.__dict__, "window_start": start, "window_end": end, "fixed_start": None})


def approval_decided(*, approval: Approval, outcome) -> None:
    """The owner decided on an action the agent submitted (`approvals.approval_decided`, inside the
    decision's transaction). Approved: a proposal now waits for the reply; a booking is confirmed to
    everyone and the task completed. Rejected or expired: a dropped proposal leaves the task waiting on
    nobody; a refused booking's time is withdrawn from the proposal, and the next reply gets other times.
    A meeting moved or cancelled from the chat: approved, everyone is told; refused, it stays as it was."""
    if not approval.key.startswith(_key_prefix(approval.task_id)):
        return
    task = _locked(account_id=approval.account_id, task_id=approval.task_id)
    stored = (task.metadata or {}).get("scheduling") if task is not None else None
    if task is None or stored is None or task.status not in OPEN_STATUSES:
        return
    plan, what = Plan.from_stored(stored), approval.key.removeprefix(_key_prefix(task.id)).split(":")[0]
    approved = approval.status == Approval.Status.APPROVED
    if approval.kind == Approval.Kind.BOOK_MEETING and approved:
        _confirm(task, plan, outcome, in_reply_to=approval.payload.get("inReplyTo"))
    elif approval.kind == Approval.Kind.BOOK_MEETING:
        _update(task, status=Task.Status.IN_PROGRESS, waiting_for=WaitingFor.REPLY, approvalId=None,
                proposeNext=True, offered=_withdraw(task, approval.payload["start"]))
    elif approval.kind == Approval.Kind.RESCHEDULE_MEETING:
        _move_decided(task, plan, outcome if approved else None)
    elif approval.kind == Approval.Kind.CANCEL_MEETING:
        _cancel_decided(task, plan, outcome if approved else None)
    elif what == "propose":
        _update(task, status=task.status, waiting_for=WaitingFor.REPLY if approved else None, approvalId=None)


def _withdraw(task: Task, start: str) -> list[str]:
    """Take a refused time out of the task's proposal (numbers kept); the task's offered times with it,
    so that no later proposal offers it again."""
    meeting = Meeting.objects.filter(account_id=task.account_id, task=task, status=Meeting.Status.PROPOSED).first()
    if meeting is not None:
        meeting.slots = [slot for slot in meeting.slots
                         if datetime.fromisoformat(slot["start"]) != datetime.fromisoformat(start)]
        meeting.save(update_fields=["slots", "updated_at"])
    return sorted({*(task.metadata.get("offered") or []), start})


# -- the steps -------------------------------------------------------------------------------------
def _first(task: Task, plan: Plan, contexts: list[ParticipantContext], *, in_reply_to: str | None) -> _Said:
    if plan.fixed_start is not None:
        return _book(task, plan, contexts, start=plan.fixed_start, slot_number=None, in_reply_to=in_reply_to)
    return _propose(task, plan, contexts, in_reply_to=in_reply_to)


def _propose(task: Task, plan: Plan, contexts: list[ParticipantContext], *, in_reply_to: str | None,
             lead: str = "") -> _Said:
    """Offer the next SLOTS_PER_PROPOSAL free slots of everyone (none offered before), on different days
    where possible; with none left in the window, ask the owner whether to widen it."""
    offered = set((task.metadata or {}).get("offered") or [])
    chosen = spread(_free_slots(task, plan, contexts), plan, SLOTS_PER_PROPOSAL)
    if not chosen:
        return _ask_owner(task, plan, question=texts.widen_question(plan=plan), in_reply_to=in_reply_to)
    round_ = int((task.metadata or {}).get("round") or 0) + 1
    slots = [{"number": number, "start": start.isoformat(), "end": end.isoformat()}
             for number, (start, end) in enumerate(chosen, start=1)]
    meeting = _hold_proposal(task, plan, slots)
    owner_name = task.owner.full_name if task.owner else ""
    body = texts.proposal(plan=plan, slots=slots, owner_name=owner_name, lead=lead)
    events: list[dict] = []  # the proposal's approval.requested or message.outbound, with the task's events
    said = _send(task, plan, body, to=plan.to, cc=plan.cc, key=f"propose:{round_}", in_reply_to=in_reply_to,
                 contexts=contexts, events=events)
    _update(task, status=Task.Status.IN_PROGRESS, waiting_for=WaitingFor.APPROVAL if said.approval_id else WaitingFor.REPLY,
            scheduling=plan.stored(), round=round_, meetingId=meeting.id,
            offered=sorted(offered | {slot["start"] for slot in slots}),
            approvalId=said.approval_id, proposeNext=None, events=events)
    return said


def _free_slots(task: Task, plan: Plan, contexts: list[ParticipantContext]) -> list[tuple[datetime, datetime]]:
    """Everyone's free slots in the plan's window, aligned in its zone, except those offered before: the
    availability engine (`find_slots`) on the participants already loaded, their busy time in one query."""
    offered = set((task.metadata or {}).get("offered") or [])
    busy = participants_busy_load(participants=contexts, start=plan.window_start, end=plan.window_end)
    people = [Participant(zone=context.zone, rules=Rules.from_preferences(context.scheduling), occurrences=found)
              for context, found in zip(contexts, busy)]
    found = find_slots(people, start=plan.window_start, end=plan.window_end, now=timezone.now(),
                       duration=timedelta(minutes=plan.duration), interval=SLOT_INTERVAL, zone=plan.zone,
                       minimum_notice=timedelta(minutes=settings.TSKR_AGENT_MINIMUM_NOTICE_MINUTES), limit=500)
    return [(start, end) for start, end in found.slots if start.isoformat() not in offered]


def spread(free: list[tuple[datetime, datetime]], plan: Plan, count: int) -> list[tuple[datetime, datetime]]:
    """`count` slots from `free` (in time order): the first of each day in the plan's zone, then, when
    there are fewer days than slots, the earliest of the rest; returned in time order."""
    days, chosen = set(), []
    for start, end in free:
        day = start.astimezone(plan.zone).date()
        if day not in days:
            days.add(day)
            chosen.append((start, end))
            if len(chosen) == count:
                return chosen
    for slot in free:
        if len(chosen) == count:
            break
        if slot not in chosen:
            chosen.append(slot)
    return sorted(chosen)


def _hold_proposal(task: Task, plan: Plan, slots: list[dict]) -> Meeting:
    """The task's `proposed` meeting, its slots replaced by the new ones (it holds no one's time)."""
    held = (task.metadata or {}).get("meetingId")  # none before the first proposal: nothing to look up
    meeting = Meeting.objects.filter(account_id=task.account_id, task=task, id=held,
                                     status=Meeting.Status.PROPOSED).first() if held else None
    meeting = meeting or Meeting(account_id=task.account_id, task=task, owner=task.owner, title=task.title,
                                 status=Meeting.Status.PROPOSED)
    meeting.start_at = datetime.fromisoformat(slots[0]["start"])
    meeting.end_at = datetime.fromisoformat(slots[0]["end"])
    meeting.timezone, meeting.meeting_type, meeting.slots = plan.timezone, plan.meeting_type, slots
    meeting.attendees = [{"email": email, "name": ""} for email in plan.outside + plan.internal_emails[1:]]
    if meeting._state.adding:
        insert(meeting)
    else:
        meeting.save()
    return meeting


def _proposed(task: Task) -> list[dict]:
    meeting = Meeting.objects.filter(account_id=task.account_id, task=task, status=Meeting.Status.PROPOSED).first()
    return list(meeting.slots) if meeting else []


def _everyone_free(plan: Plan, contexts: list[ParticipantContext], start: datetime) -> bool:
    """Every internal participant free then: no busy event, no TSKR meeting, no rule broken."""
    end = start + timedelta(minutes=plan.duration)
    return all(not any(booking_conflicts(context=context, start=start, end=end).values()) for context in contexts)


def _book(task: Task, plan: Plan, contexts: list[ParticipantContext], *, start: datetime, slot_number: int | None,
          in_reply_to: str | None) -> _Said:
    """Book `start` when everyone is free then (else propose other times), confirm to everyone, complete."""
    if not _everyone_free(plan, contexts, start):
        return _propose(task, plan, contexts, in_reply_to=in_reply_to, lead=texts.busy(plan=plan, start=start))
    end = start + timedelta(minutes=plan.duration)
    payload = {"start": start.isoformat(), "end": end.isoformat(), "timezone": plan.timezone, "title": task.title,
               "attendees": [{"email": email, "name": ""} for email in plan.outside + plan.internal_emails[1:]],
               "meetingType": plan.meeting_type}
    if slot_number is not None:
        payload["slotNumber"] = slot_number
    try:
        with transaction.atomic():
            outcome = action_submit(task=task, kind="book_meeting", payload=payload,
                                    key=_key(task, f"book:{start.isoformat()}"),
                                    supervision=_supervision(task, contexts))
    except services.SlotUnavailable:
        return _propose(task, plan, contexts, in_reply_to=in_reply_to, lead=texts.busy(plan=plan, start=start))
    except CalendarProviderError as exc:
        if exc.transient:  # the provider may still write it: the step fails and is tried again
            raise
        return _ask_owner(task, plan, question=texts.booking_failed(plan=plan, start=start, reason=exc.message),
                          in_reply_to=in_reply_to)
    except ApplicationError as exc:  # the owner's calendar refused (not writable, consent to renew...)
        return _ask_owner(task, plan, question=texts.booking_failed(plan=plan, start=start, reason=exc.message),
                          in_reply_to=in_reply_to)
    if outcome.approval is not None and outcome.approval.status != Approval.Status.PENDING:
        # this very booking was turned down (or expired) before: never asked twice, other times instead
        return _propose(task, plan, contexts, in_reply_to=in_reply_to)
    if outcome.approval is not None:
        _update(task, status=Task.Status.IN_PROGRESS, waiting_for=WaitingFor.APPROVAL, scheduling=plan.stored(),
                approvalId=outcome.approval.id)
        return _Said(approval_id=outcome.approval.id)
    return _confirm(task, plan, outcome.result, in_reply_to=in_reply_to)


def _drop_proposal(task: Task) -> None:
    """The task's proposed meeting (its numbered slots) goes: a booking, a move or a call-off ended it."""
    Meeting.objects.filter(account_id=task.account_id, task=task, status=Meeting.Status.PROPOSED).delete()


def _confirm(task: Task, plan: Plan, meeting: Meeting, *, in_reply_to: str | None) -> _Said:
    """The booking done: the proposal goes (the booked meeting replaces it), everyone is told, the task
    is completed (or waits for the confirmation's approval, when supervised)."""
    _drop_proposal(task)
    body = texts.confirmation(plan=plan, start=meeting.start_at, title=meeting.title)
    said = _send(task, plan, body, to=plan.to, cc=plan.cc, key=f"confirm:{meeting.id}", in_reply_to=in_reply_to)
    _update(task, status=Task.Status.COMPLETED, waiting_for=None, scheduling=plan.stored(), meetingId=meeting.id,
            approvalId=said.approval_id)
    return said


def _ask_owner(task: Task, plan: Plan, *, question: str, in_reply_to: str | None) -> _Said:
    """A question for the owner alone (a message only to the owner is never held); the task waits."""
    round_ = int((task.metadata or {}).get("round") or 0) + 1
    owner_email = plan.internal_emails[0]
    said = _send(task, plan, question, to=[owner_email], cc=[], key=f"ask:{round_}", in_reply_to=in_reply_to)
    _update(task, status=Task.Status.NEEDS_CLARIFICATION, waiting_for=WaitingFor.OWNER, scheduling=plan.stored(),
            round=round_, approvalId=None)
    return said


# -- writing ---------------------------------------------------------------------------------------
def _key_prefix(task_id: str) -> str:
    return f"agent:{task_id}:"


def _key(task: Task, what: str) -> str:
    return _key_prefix(task.id) + what


def _supervision(task: Task, contexts: list[ParticipantContext]) -> str | None:
    """The owner's supervision, from the preferences loaded with the participants (the plan's owner
    first); None, read again by `action_submit`, when the task changed owner since its plan was made."""
    owner = contexts[0]
    return owner.scheduling["defaults"]["supervision"] if owner.user.id == task.owner_id else None


def _send(task: Task, plan: Plan, body: str, *, to: list[str], cc: list[str], key: str,
          in_reply_to: str | None, contexts: list[ParticipantContext] | None = None,
          events: list[dict] | None = None) -> _Said:
    """Submit a message (`contexts`: the participants, whose owner's supervision and identifiers, when
    loaded, spare `action_submit` their reads; `events`: see `action_submit`)."""
    to_owner = to == plan.internal_emails[:1] and task.owner is not None  # greeted by name; others: "Hello,"
    content = texts.wrap(body, platform=plan.platform, assistant=services.task_assistant(task),
                         to_name=task.owner.first_name if to_owner else "")
    supervision = _supervision(task, contexts) if contexts else None
    identifiers = contexts[0].identifiers if supervision is not None else None
    outcome = action_submit(task=task, kind="send_message", key=_key(task, key), supervision=supervision,
                            owner_identifiers=identifiers, events=events,
                            payload={"content": content, "to": to, "cc": cc, "subject": None, "inReplyTo": in_reply_to})
    if outcome.approval is not None:
        return _Said(approval_id=outcome.approval.id)
    return _Said(message=outcome.result)


def _update(task: Task, *, status: str, waiting_for: str | None, events: list[dict] | None = None,
            **metadata) -> Task:
    """Status and agent metadata in one `task_update` (its activity and webhook events, after `events`),
    on the row the step locked (`_locked`), not read again."""
    merged = {**(task.metadata or {}), "waitingFor": waiting_for}
    for key, value in metadata.items():  # None removes the agent's key (the integrator's keys stay)
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    updated = services.task_update(task=task, actor_assistant=services.task_assistant(task), status=status,
                                   metadata=merged, locked=True, events=events)
    task.status, task.metadata = updated.status, updated.metadata
    return task


def _reply_body(message: Message | None) -> dict | None:
    """A sent message as the process answer shows a reply."""
    if message is None:
        return None
    metadata = message.metadata or {}
    body = {"id": message.id, "to": list(metadata.get("to") or [])}
    if message.platform == Message.Platform.EMAIL:
        body["cc"] = list(metadata.get("cc") or [])
        body["subject"] = metadata.get("subject") or ""
    else:
        body["to"] += [handle for handle in metadata.get("cc") or [] if handle not in body["to"]]
    return {**body, "content": message.content, "platform": message.platform}


# -- changes of course from the chat: work called off, a meeting moved, a trip's dates --------------
#: The step actions `_change` applies (a task moving its booked meeting takes every action there).
CHANGES = (StepAction.CANCEL, StepAction.RESCHEDULE, StepAction.UPDATE_BRIEF)
_CLARIFICATION = re.compile(r"\n*Clarification needed:[^\n]*")


def _change(task: Task, step: TaskStep, message: Message) -> _Said | None:
    """Apply a change of course, or None when the message may not make it: only the owner calls a task
    off or gives a trip's dates; the owner or a participant moves a meeting; a meeting moves or is
    called off while it is ahead (a task done otherwise is not in hand any more)."""
    meeting = _booked_ahead(task) if task.type == Skill.SCHEDULING else None
    if task.status not in OPEN_STATUSES and meeting is None:
        return None
    if step.action == StepAction.CANCEL:
        return _call_off(task, message, meeting) if message.sender_id == task.owner_id else None
    if step.action == StepAction.UPDATE_BRIEF:
        if (message.sender_id != task.owner_id or task.type != Skill.TRAVEL
                or task.status != Task.Status.NEEDS_CLARIFICATION):
            return None
        return _brief(task, message)
    if task.type != Skill.SCHEDULING:
        return None
    plan, contexts = _plan_of(task, message)
    if step.action == StepAction.RESCHEDULE:
        if not _takes_part(plan, message):
            return None
        return _move(task, plan, contexts, meeting, step, message)
    if meeting is None:  # the booked meeting went meanwhile: nothing left to move
        return None
    if step.action == StepAction.BOOK_SLOT:  # a time picked among those proposed for the move
        slot = next((slot for slot in _proposed(task) if slot["number"] == step.slot), None)
        if slot is not None:
            return _move_to(task, plan, contexts, meeting, start=datetime.fromisoformat(slot["start"]),
                            in_reply_to=message.id)
    if step.action == StepAction.BOOK_TIME and step.start is not None:
        return _move_to(task, plan, contexts, meeting, start=step.start, in_reply_to=message.id)
    if step.action == StepAction.ASK_OWNER:
        return _ask_owner(task, plan, question=step.text or texts.widen_question(plan=plan), in_reply_to=message.id)
    return _propose(task, plan, contexts, in_reply_to=message.id,
                    lead=texts.move_lead(start=meeting.start_at, zone=plan.zone))


def _booked_ahead(task: Task) -> Meeting | None:
    """The task's booked (or pending) meeting still ahead, the earliest."""
    return (Meeting.objects.filter(account_id=task.account_id, task=task, status__in=Meeting.ACTIVE,
                                   start_at__gt=timezone.now()).order_by("start_at").first())


def _plan_of(task: Task, message: Message) -> tuple[Plan, list[ParticipantContext]]:
    stored = (task.metadata or {}).get("scheduling")
    if stored is None:
        return plan_build(task, text=message.content)
    plan = Plan.from_stored(stored)
    return plan, participants_load(account=task.account, references=plan.internal)


def _takes_part(plan: Plan, message: Message) -> bool:
    """The message's author is the owner or another participant of the meeting (a user of the plan, or
    one of its outside handles): a teammate who is neither does not move someone else's meeting."""
    if message.sender_id is not None:
        return message.sender_id in plan.internal
    author = (message.metadata or {}).get("from")
    return bool(author) and handle_key(handle(author)) in {handle_key(value) for value in plan.outside}


def _owner_note(task: Task, body: str, *, key: str, in_reply_to: str) -> _Said:
    """A short answer to the owner in the task's chat, in its register (never held: it goes to the owner)."""
    assistant = services.task_assistant(task)
    platform, _ = chat_thread(chat_id=task.source_chat_id)
    content = texts.wrap(body, platform=platform, assistant=assistant, to_name=task.owner.first_name)
    outcome = action_submit(task=task, kind="send_message", key=_key(task, key), payload={
        "content": content, "to": [reminders.owner_handle(task)], "cc": [], "subject": None,
        "inReplyTo": in_reply_to})
    return _Said(message=outcome.result, approval_id=outcome.approval.id if outcome.approval else None)


def _call_off(task: Task, message: Message, meeting: Meeting | None) -> _Said:
    """The owner called the task off. Steps: the approvals it holds are withdrawn and its proposal
    dropped; a booked meeting ahead is cancelled (held for approval when supervised: the task then
    waits for it) and its participants told; the task is completed (through in_progress when it waited
    for a clarification: the lifecycle allows no shorter way), which cancels its reminder and
    follow-ups; the owner is told what stopped."""
    approvals_withdraw(task=task, reason="Withdrawn: the task was called off in the chat")
    _drop_proposal(task)
    called_off = {"messageId": message.id, "at": timezone.now().isoformat()}
    if meeting is not None:
        plan, contexts = _plan_of(task, message)
        try:
            with transaction.atomic():
                outcome = action_submit(task=task, kind="cancel_meeting", key=_key(task, f"cancel:{meeting.id}"),
                                        payload={"meetingId": meeting.id, "title": meeting.title,
                                                 "start": meeting.start_at.isoformat()},
                                        supervision=_supervision(task, contexts))
        except ApplicationError as exc:  # the provider refused: the meeting stays, the owner is asked
            if isinstance(exc, CalendarProviderError) and exc.transient:
                raise
            return _ask_owner(task, plan, question=texts.change_failed(what="cancel the meeting", reason=exc.message),
                              in_reply_to=message.id)
        if outcome.approval is not None:
            _update(task, status=Task.Status.IN_PROGRESS, waiting_for=WaitingFor.APPROVAL,
                    approvalId=outcome.approval.id, calledOff=called_off)
            return _Said(approval_id=outcome.approval.id)
        _tell_cancelled(task, plan, outcome.result)
    if task.status == Task.Status.NEEDS_CLARIFICATION:
        _update(task, status=Task.Status.IN_PROGRESS, waiting_for=None)
    _update(task, status=Task.Status.COMPLETED, waiting_for=None, approvalId=None, proposeNext=None, moving=None,
            calledOff=called_off)
    actions_cancel(task_id=task.id, reason="task called off")  # the agent's nudges of a scheduling task too
    body = texts.called_off(skill=task.type, title=task.title, meeting_cancelled=meeting is not None)
    return _owner_note(task, body, key=f"off:{message.id}", in_reply_to=message.id)


def _tell_cancelled(task: Task, plan: Plan, meeting: Meeting) -> None:
    """The participants told that the meeting is cancelled (unless the owner is its only one)."""
    if plan.to != plan.internal_emails[:1]:
        _send(task, plan, texts.meeting_cancelled(plan=plan, start=meeting.start_at, title=meeting.title),
              to=plan.to, cc=plan.cc, key=f"cancelled:{meeting.id}", in_reply_to=None)


def _cancel_decided(task: Task, plan: Plan, meeting: Meeting | None) -> None:
    """The owner decided on a cancellation they asked for: approved, the participants are told; either
    way the task is completed (refused: the meeting stays booked, the call-off is forgotten)."""
    if meeting is not None:
        _tell_cancelled(task, plan, meeting)
    _update(task, status=Task.Status.COMPLETED, waiting_for=None, approvalId=None,
            calledOff=(task.metadata or {}).get("calledOff") if meeting is not None else None)


def _brief(task: Task, message: Message) -> _Said:
    """A trip's dates given: the brief (`metadata.brief.dates`) and the description take them in place of
    the question, the task is pending again, and the owner is told what was noted."""
    dates = message.content.strip()
    description = "\n\n".join(part for part in (_CLARIFICATION.sub("", task.description).strip(),
                                                 f"Dates: {dates}") if part)
    metadata = {**(task.metadata or {}), "brief": {**((task.metadata or {}).get("brief") or {}), "dates": dates}}
    services.task_update(task=task, actor_assistant=services.task_assistant(task), status=Task.Status.PENDING,
                         description=description, metadata=metadata, locked=True)
    return _owner_note(task, texts.brief_updated(title=task.title, dates=dates), key=f"brief:{message.id}",
                       in_reply_to=message.id)


def _move(task: Task, plan: Plan, contexts: list[ParticipantContext], meeting: Meeting | None, step: TaskStep,
          message: Message) -> _Said:
    """A meeting moved. A precise time (the step's, or the booked time shifted by what the message says):
    booked meeting rescheduled there, an open request booked there, when everyone is free, else other
    times proposed. Otherwise new times are proposed on the days the message names (or shifted by it, or
    the next free ones). Approvals held for the old plan are withdrawn first: they no longer apply."""
    approvals_withdraw(task=task, reason="Withdrawn: the meeting moved")
    if task.status == Task.Status.NEEDS_CLARIFICATION:  # a booking completes it: not straight from here
        _update(task, status=Task.Status.IN_PROGRESS, waiting_for=None)
    shift = read_shift(message.content)
    start = step.start or (meeting.start_at + shift if meeting is not None and shift else None)
    if start is not None and meeting is not None:
        return _move_to(task, plan, contexts, meeting, start=start, in_reply_to=message.id)
    if start is not None:
        return _book(task, plan, contexts, start=start, slot_number=None, in_reply_to=message.id)
    plan = _moved_plan(plan, contexts, message, shift=shift, booked=meeting)
    _update(task, status=Task.Status.IN_PROGRESS, waiting_for=None, scheduling=plan.stored(), offered=None,
            approvalId=None, moving=meeting.id if meeting is not None else None)
    return _propose(task, plan, contexts, in_reply_to=message.id,
                    lead=texts.move_lead(start=meeting.start_at if meeting else None, zone=plan.zone))


def _moved_plan(plan: Plan, contexts: list[ParticipantContext], message: Message, *, shift: timedelta | None,
                booked: Meeting | None) -> Plan:
    """The window a move asks for, in the plan's zone: the day it names (its part, "Thursday afternoon",
    when said), else the days ("next week"), else the old window shifted ("a week later"), else from now
    on (a booked meeting) or the old window (an open request); never before the minimum notice."""
    zone, said_at = plan.zone, message.timestamp
    when = read_when(message.content, zone=zone, now=said_at)
    if when.day is not None:
        first, last = when.part or (time(0), None)
        start = datetime.combine(when.day, first, tzinfo=zone)
        end = datetime.combine(when.day, last, tzinfo=zone) if last else start + timedelta(days=1)
    elif (named := read_window(message.content, zone=zone, now=said_at)) is not None:
        start, end = named
    elif shift:
        start, end = plan.window_start + shift, plan.window_end + shift
    elif booked is not None:
        start, end = default_window(contexts[0], now=timezone.now())
    else:
        start, end = plan.window_start, plan.window_end
    earliest, _ = default_window(contexts[0], now=timezone.now())
    duration = int((booked.end_at - booked.start_at).total_seconds() // 60) if booked is not None else plan.duration
    return replace(plan, window_start=max(start, earliest), window_end=max(end, earliest), fixed_start=None,
                   duration=duration)


def _move_to(task: Task, plan: Plan, contexts: list[ParticipantContext], meeting: Meeting, *, start: datetime,
             in_reply_to: str | None) -> _Said:
    """Move the booked meeting to `start` when every internal participant is free then (the meeting itself
    aside): a `reschedule_meeting` action, held for approval when supervised; else other times proposed."""
    end = start + (meeting.end_at - meeting.start_at)
    free = all(not any(booking_conflicts(context=context, start=start, end=end, exclude_meeting_id=meeting.id)
                       .values()) for context in contexts)
    busy_lead = texts.busy(plan=plan, start=start)
    if not free:
        return _propose_move(task, plan, contexts, meeting, in_reply_to=in_reply_to, lead=busy_lead)
    payload = {"meetingId": meeting.id, "start": start.isoformat(), "end": end.isoformat(), "title": meeting.title,
               "timezone": plan.timezone}
    try:
        with transaction.atomic():
            outcome = action_submit(task=task, kind="reschedule_meeting", payload=payload,
                                    key=_key(task, f"move:{meeting.id}:{start.isoformat()}"),
                                    supervision=_supervision(task, contexts))
    except services.SlotUnavailable:
        return _propose_move(task, plan, contexts, meeting, in_reply_to=in_reply_to, lead=busy_lead)
    except ApplicationError as exc:
        if isinstance(exc, CalendarProviderError) and exc.transient:
            raise
        return _ask_owner(task, plan, question=texts.change_failed(what="move the meeting", reason=exc.message),
                          in_reply_to=in_reply_to)
    if outcome.approval is not None and outcome.approval.status != Approval.Status.PENDING:
        return _propose_move(task, plan, contexts, meeting, in_reply_to=in_reply_to)
    if outcome.approval is not None:
        _update(task, status=Task.Status.IN_PROGRESS, waiting_for=WaitingFor.APPROVAL, moving=meeting.id,
                approvalId=outcome.approval.id)
        return _Said(approval_id=outcome.approval.id)
    return _moved(task, plan, outcome.result, in_reply_to=in_reply_to)


def _propose_move(task: Task, plan: Plan, contexts: list[ParticipantContext], meeting: Meeting, *,
                  in_reply_to: str | None, lead: str = "") -> _Said:
    """Other times for a booked meeting that moves; the time picked among them moves it (`moving`)."""
    if (task.metadata or {}).get("moving") != meeting.id:
        _update(task, status=Task.Status.IN_PROGRESS, waiting_for=None, moving=meeting.id)
    return _propose(task, plan, contexts, in_reply_to=in_reply_to, lead=lead)


def _moved(task: Task, plan: Plan, meeting: Meeting, *, in_reply_to: str | None) -> _Said:
    """The meeting moved: the proposal made for it goes, everyone is told, the task is completed again."""
    _drop_proposal(task)
    minutes = int((meeting.end_at - meeting.start_at).total_seconds() // 60)
    body = texts.moved(plan=plan, start=meeting.start_at, title=meeting.title, minutes=minutes)
    said = _send(task, plan, body, to=plan.to, cc=plan.cc, key=f"moved:{meeting.id}:{meeting.sequence}",
                 in_reply_to=in_reply_to)
    _update(task, status=Task.Status.COMPLETED, waiting_for=None, moving=None, approvalId=said.approval_id)
    return said


def _move_decided(task: Task, plan: Plan, meeting: Meeting | None) -> None:
    """The owner decided on a move: approved, everyone is told; refused, the meeting stays where it was
    and the task is done again."""
    if meeting is not None:
        _moved(task, plan, meeting, in_reply_to=None)
        return
    _drop_proposal(task)
    _update(task, status=Task.Status.COMPLETED, waiting_for=None, moving=None, approvalId=None)
