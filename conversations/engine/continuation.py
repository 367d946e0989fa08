"""The local engine's rules for a message that continues an open task of its chat.

A message continues at most one task: the newest open scheduling task that can take it. Picking a
proposed slot books it; turning them all down proposes others; naming another precise time books
that time when it is free; after the owner turned a booking down, any other reply gets new times; a task waiting for a clarification or for its owner takes any answer
naming a day, a time or a part of the day (then its step runs again with it). A message asking for
something of another skill is a new request, never a continuation.

Beyond answers to what a task asked (general rules of `understanding`, checked in this order):
- work called off ("never mind that reminder", "you can stop", "forget it, cancel the meeting") ends
  the newest open task of the kind it names, else the newest open task (CANCEL);
- a trip waiting for its dates takes an answer naming dates ("the 10th to the 14th", "Friday, back
  Sunday") unless it names another place than the trip's: that is another trip (UPDATE_BRIEF);
- a meeting moved ("push it to Thursday", "let's do 3pm instead", "bump it a week"), the scheduling
  task open or its meeting booked, with no proposed slot picked (RESCHEDULE).
The agent checks who may do it (the owner; a meeting's participants may move it).
"""
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .scheduling import choose_slot, read_when, read_window, rejects_all
from .types import ChatContext, OpenTask, Skill, StepAction, TaskStep
from .understanding import calls_off, mentions_time, moves_meeting, named_skill, names_place

_AGREE = re.compile(r"^\s*(yes|yeah|yep|sure|ok|okay|please do|go ahead|sounds good|fine)\b", re.I)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def open_task_step(context: ChatContext, *, detect_skill: Callable[[str], str | None]) -> TaskStep | None:
    """The step the latest message makes on one of the chat's open tasks, or None (not a continuation)."""
    text = context.latest.content
    now = context.latest.timestamp or context.now or datetime.now(ZoneInfo("UTC"))
    if calls_off(text) and (task := _called_off(context.open_tasks, text)) is not None:
        return TaskStep(task_id=task.id, action=StepAction.CANCEL, text=text)
    skill = detect_skill(text)
    if skill in (None, Skill.TRAVEL):
        for task in context.open_tasks:
            if task.type == Skill.TRAVEL and task.status == "needs_clarification" and _dates_for(task, text):
                return TaskStep(task_id=task.id, action=StepAction.UPDATE_BRIEF, text=text)
    if skill not in (None, Skill.SCHEDULING):
        return None
    for task in context.open_tasks:
        if task.type != Skill.SCHEDULING:
            continue
        if task.booked is not None and not task.slots:  # done: only a move reopens it
            if moves_meeting(text):
                return _moved(task, text, now)
        elif (step := _scheduling_step(task, text, now)) is not None:  # open, or new times out for a move
            return step
    for task in context.open_tasks:  # a reminder or follow-up that asked for its time, and got one
        if task.type in (Skill.REMINDERS, Skill.FOLLOWUPS) and task.status == "needs_clarification" \
                and mentions_time(text):
            return TaskStep(task_id=task.id, action=StepAction.CONTINUE, text=text)
    return None


def _called_off(tasks: tuple[OpenTask, ...], text: str) -> OpenTask | None:
    """The task called off: the newest of the kind the message names, else the newest still in hand; None
    when it names a kind the chat has no task of ("cancel the meeting" with only a reminder open is a new
    request). A meeting already booked is called off only when named: "never mind" is not enough."""
    named = named_skill(text)
    if named is not None:
        return next((task for task in tasks if task.type == named), None)
    return next((task for task in tasks if task.booked is None or task.slots), None)


def _dates_for(task: OpenTask, text: str) -> bool:
    """The message gives the trip's dates: it names a date or a day, and no place but the trip's own."""
    title = task.title.lower()
    return mentions_time(text) and all(place.lower() in title for place in names_place(text))


def _moved(task: OpenTask, text: str, now: datetime) -> TaskStep:
    """The meeting moved: to a precise time when the message names one, else to what it says (read again
    by the agent: a day, a part of it, a shift "a week later"), else to the next free times."""
    zone = _zone(task.timezone)
    return TaskStep(task_id=task.id, action=StepAction.RESCHEDULE, start=read_when(text, zone=zone, now=now).at(zone),
                    text=text)


def _scheduling_step(task: OpenTask, text: str, now: datetime) -> TaskStep | None:
    zone = _zone(task.timezone)
    when = read_when(text, zone=zone, now=now)
    if task.waiting_for == "reply" and task.slots:
        if (number := choose_slot(text, task.slots, zone=zone, now=now)) is not None:
            return TaskStep(task_id=task.id, action=StepAction.BOOK_SLOT, slot=number)
        if rejects_all(text) and not when.instant:  # "none of these work; Friday at 4pm?" names a time
            return TaskStep(task_id=task.id, action=StepAction.PROPOSE_TIMES)
    if when.instant and task.waiting_for in ("reply", "owner", ""):
        return TaskStep(task_id=task.id, action=StepAction.BOOK_TIME, start=when.at(zone))
    if moves_meeting(text):  # "make it Thursday afternoon", "push it a week", whatever the task waits for
        return _moved(task, text, now)
    if task.propose_next and task.waiting_for == "reply":
        return TaskStep(task_id=task.id, action=StepAction.PROPOSE_TIMES)
    waiting_for_answer = task.status == "needs_clarification" or task.waiting_for == "owner"
    if waiting_for_answer and (when.day or when.clock or when.part or _AGREE.search(text)
                               or read_window(text, zone=zone, now=now)):
        return TaskStep(task_id=task.id, action=StepAction.CONTINUE, text=text)
    return None
