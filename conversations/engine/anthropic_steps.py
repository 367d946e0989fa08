"""The Anthropic engine's tools for carrying tasks on: how open tasks and their candidate slots are
shown to the model, and how its tool calls become a `TaskStep`.

Candidates are computed before the call (the slots proposed, then the next free ones) and handed to
the model numbered; it names a slot by number or gives an explicit time, and the server validates
either (a number must be one shown, a time must be free for everyone) before anything is booked.
The tool list is the same for every message of an agent, so it stays in the cached prefix.
"""
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .types import ChatContext, OpenTask, Skill, StepAction, TaskStep

STEP_RULES = """- When the latest message continues one of the open tasks listed in the situation (picks a proposed
  slot, names another time, turns the times down, answers a question you asked), do not create a task:
  call exactly one of book_slot, propose_times, ask_owner or continue_task with that task's id. Name a
  slot by its number, or give an explicit time (ISO 8601 with its UTC offset) in `start`. Every time is
  checked by the server; you never need to write the times in your reply.
- When the task's owner calls an open task off ("never mind that reminder", "you can stop chasing"), call
  continue_task with action "cancel"; when a meeting of an open task, or its booked meeting, moves ("push
  it to Thursday"), action "reschedule", with `start` when a precise time is named; when the owner gives
  the dates a trip waited for, action "update_brief". Another request (a second trip, another meeting)
  is a new task. The server checks who may change a task.
- For a scheduling request naming a precise time, give it in create_task's `start`."""

_TASK_ID = {"type": "string", "description": "The id of one of the open tasks listed"}

#: What `continue_task`'s actions are, and the task types each applies to.
_ACTIONS = {"continue": StepAction.CONTINUE, "cancel": StepAction.CANCEL, "reschedule": StepAction.RESCHEDULE,
            "update_brief": StepAction.UPDATE_BRIEF}
_ACTION_TYPES = {StepAction.CONTINUE: (Skill.SCHEDULING, Skill.REMINDERS, Skill.FOLLOWUPS),
                 StepAction.CANCEL: tuple(Skill.values), StepAction.RESCHEDULE: (Skill.SCHEDULING,),
                 StepAction.UPDATE_BRIEF: (Skill.TRAVEL,)}

#: Offered whenever the agent has a skill (every open task may be continued or called off).
CONTINUE_TOOL = {
    "name": "continue_task",
    "description": "The latest message carries an open task on without picking a slot: `continue` (it answers "
                   "what the task waited for), `cancel` (the owner calls it off), `reschedule` (its meeting "
                   "moves; `start` when a precise time is named) or `update_brief` (a trip's dates given).",
    "input_schema": {"type": "object", "properties": {
        "taskId": _TASK_ID, "action": {"type": "string", "enum": list(_ACTIONS)},
        "start": {"type": "string", "description": "reschedule: the new start, ISO 8601 with offset"},
        "note": {"type": "string"}}, "required": ["taskId"]}}

STEP_TOOLS = [
    {"name": "book_slot",
     "description": "Book a time for an open scheduling task: a numbered candidate slot, or an explicit time.",
     "input_schema": {"type": "object", "properties": {
         "taskId": _TASK_ID, "slot": {"type": "integer", "description": "A candidate slot's number"},
         "start": {"type": "string", "description": "An explicit start, ISO 8601 with offset"}},
         "required": ["taskId"]}},
    {"name": "propose_times",
     "description": "Offer new times for an open scheduling task (the participants turned the others down).",
     "input_schema": {"type": "object", "properties": {"taskId": _TASK_ID}, "required": ["taskId"]}},
    {"name": "ask_owner",
     "description": "Ask the task's owner (only them) a question the task cannot go on without.",
     "input_schema": {"type": "object", "properties": {"taskId": _TASK_ID, "question": {"type": "string"}},
                      "required": ["taskId", "question"]}},
    CONTINUE_TOOL,
]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def describe_open_tasks(tasks: tuple[OpenTask, ...]) -> str:
    """The volatile block's part about open tasks: id, type, status, what each waits for, numbered slots."""
    if not tasks:
        return ""
    lines = ["Open tasks of this conversation (newest first):"]
    for task in tasks:
        waiting = f", waiting for {task.waiting_for}" if task.waiting_for else ""
        if task.propose_next:
            waiting += "; the owner declined a time: propose others unless the message picks a slot"
        lines.append(f"- {task.id} ({task.type}, {task.status}{waiting}): {task.title}")
        zone = _zone(task.timezone)
        for slot in task.slots:
            lines.append(f"  slot {slot.number} (proposed): {slot.start.astimezone(zone).isoformat()}")
        for slot in task.candidates:
            lines.append(f"  slot {slot.number} (free, not yet proposed): {slot.start.astimezone(zone).isoformat()}")
        if task.booked is not None:
            lines.append(f"  booked meeting: {task.booked.start.astimezone(zone).isoformat()}")
    return "\n".join(lines)


def step_of(context: ChatContext, calls: list[tuple[str, dict]]) -> TaskStep | None:
    """The first valid step call: on an open task of this chat, naming a slot shown or a readable time, or
    a `continue_task` action that applies to the task's type. Anything else is dropped (the server never
    acts on an id or a slot it did not offer)."""
    tasks = {task.id: task for task in context.open_tasks}
    for name, arguments in calls:
        task = tasks.get(str(arguments.get("taskId") or ""))
        if task is None:
            continue
        if name == "continue_task":
            if (step := _continuation(task, arguments)) is not None:
                return step
            continue
        if task.type != Skill.SCHEDULING:
            continue
        if name == "book_slot" and (step := _booking(task, arguments)) is not None:
            return step
        if name == "propose_times":
            return TaskStep(task_id=task.id, action=StepAction.PROPOSE_TIMES)
        if name == "ask_owner" and str(arguments.get("question") or "").strip():
            return TaskStep(task_id=task.id, action=StepAction.ASK_OWNER, text=str(arguments["question"]).strip())
    return None


def _continuation(task: OpenTask, arguments: dict) -> TaskStep | None:
    """A `continue_task` call's step, None when its action does not apply to the task's type. An unreadable
    `start` is left out: the server reads the days from the message itself."""
    action = _ACTIONS.get(str(arguments.get("action") or "continue"))
    if action is None or task.type not in _ACTION_TYPES[action]:
        return None
    start = read_instant(arguments["start"], zone=_zone(task.timezone)) \
        if action == StepAction.RESCHEDULE and arguments.get("start") else None
    return TaskStep(task_id=task.id, action=action, start=start, text=str(arguments.get("note") or ""))


def _booking(task: OpenTask, arguments: dict) -> TaskStep | None:
    number = arguments.get("slot")
    if isinstance(number, int) and not isinstance(number, bool):
        if any(slot.number == number for slot in task.slots):
            return TaskStep(task_id=task.id, action=StepAction.BOOK_SLOT, slot=number)
        candidate = next((slot for slot in task.candidates if slot.number == number), None)
        return TaskStep(task_id=task.id, action=StepAction.BOOK_TIME, start=candidate.start) if candidate else None
    start = read_instant(arguments.get("start"), zone=_zone(task.timezone))
    return TaskStep(task_id=task.id, action=StepAction.BOOK_TIME, start=start) if start else None


def read_instant(value, *, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 time from the model; without an offset it is read in `zone`. None when unreadable."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
