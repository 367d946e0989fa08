"""The local engine's rules for a message that continues an open task of its chat.

A message continues at most one task: the newest open scheduling task that can take it. Picking a
proposed slot books it; turning them all down proposes others; naming another precise time books
that time when it is free; after the owner turned a booking down, any other reply gets new times; a task waiting for a clarification or for its owner takes any answer
naming a day, a time or a part of the day (then its step runs again with it). A message asking for
something of another skill is a new request, never a continuation.
"""
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .scheduling import choose_slot, read_when, read_window, rejects_all
from .types import ChatContext, OpenTask, Skill, StepAction, TaskStep
from .understanding import mentions_time

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
    if detect_skill(text) not in (None, Skill.SCHEDULING):
        return None
    for task in context.open_tasks:
        if task.type == Skill.SCHEDULING and (step := _scheduling_step(task, text, now)) is not None:
            return step
    for task in context.open_tasks:  # a reminder or follow-up that asked for its time, and got one
        if task.type in (Skill.REMINDERS, Skill.FOLLOWUPS) and task.status == "needs_clarification" \
                and mentions_time(text):
            return TaskStep(task_id=task.id, action=StepAction.CONTINUE, text=text)
    return None


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
    if task.propose_next and task.waiting_for == "reply":
        return TaskStep(task_id=task.id, action=StepAction.PROPOSE_TIMES)
    waiting_for_answer = task.status == "needs_clarification" or task.waiting_for == "owner"
    if waiting_for_answer and (when.day or when.clock or when.part or _AGREE.search(text)
                               or read_window(text, zone=zone, now=now)):
        return TaskStep(task_id=task.id, action=StepAction.CONTINUE, text=text)
    return None
