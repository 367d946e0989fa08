"""The offline engine: deterministic rules, no network, no key. It is not a language model.

It answers in the assistant's voice (professionalism, humour, emoji use, signature), recognises
requests for the four skills by keywords, creates a task of that type, and asks a clarifying
question when the request carries no date or time.
"""
import re

from .base import Deadline, Engine
from .continuation import open_task_step
from .types import (
    AssistantProfile,
    ChatContext,
    ChatResult,
    DraftStatus,
    Skill,
    TaskContext,
    TaskDraft,
    TaskOutcome,
    TaskResult,
)

# Checked in this order: "remind me to follow up" is a reminder, "follow up about the flight" a followup.
_SKILL_PATTERNS = [
    (Skill.REMINDERS, re.compile(r"\bremind(er|ers)?\b|\bdon'?t let me forget\b", re.I)),
    (Skill.FOLLOWUPS, re.compile(r"\bfollow[\s-]?ups?\b|\bcheck in with\b|\bchase\b|\bnudge\b", re.I)),
    (Skill.TRAVEL, re.compile(r"\bflights?\b|\bhotels?\b|\btravel\b|\btrip\b|\bitinerary\b|\btrain to\b|\bfly\b",
                              re.I)),
    (Skill.SCHEDULING, re.compile(r"\bschedul\w*|\bmeeting\b|\bmeet\b|\bappointment\b|\bcalendar\b|\bbook (a|an) "
                                  r"(call|slot|time)\b|\bset up (a|an) (call|sync|meeting)\b|\b(call|sync) with\b",
                                  re.I)),
]

_WHEN = re.compile(
    r"\b(today|tonight|tomorrow|yesterday|noon|midnight|morning|afternoon|evening|weekend|asap|eod|eow)\b"
    r"|\b(mon|tues|wednes|thurs|fri|satur|sun)day\b"
    r"|\b(next|this|coming) (week|month|year)\b"
    r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
    r"|\b\d{1,2}(st|nd|rd|th)? (of )?(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(/\d{2,4})?\b"
    r"|\b\d{1,2}(:\d{2})? ?(am|pm)\b|\b\d{1,2}:\d{2}\b"
    r"|\bin \d+ (minutes?|hours?|days?|weeks?)\b",
    re.I,
)

_GROUP_CALL = re.compile(r"\b(assistant|bot)\b", re.I)
_DONE = re.compile(r"\b(done|completed?|finished|all set|no longer needed|cancel(led)?)\b", re.I)
_POLITE = re.compile(r"^\s*(please|(can|could|would|will) you( please)?)\s+", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^,.!\n]*[,.!]?\s*", re.I)

_LABELS = {
    Skill.SCHEDULING: "Schedule",
    Skill.REMINDERS: "Reminder",
    Skill.FOLLOWUPS: "Follow up",
    Skill.TRAVEL: "Travel",
}
_QUESTIONS = {
    Skill.SCHEDULING: "What day and time would suit you for this?",
    Skill.REMINDERS: "When should I remind you?",
    Skill.FOLLOWUPS: "When should I follow up?",
    Skill.TRAVEL: "What dates are you travelling?",
}


def detect_skill(text: str) -> str | None:
    return next((skill for skill, pattern in _SKILL_PATTERNS if pattern.search(text)), None)


def mentions_time(text: str) -> bool:
    return bool(_WHEN.search(text))


def _summary(text: str, assistant: AssistantProfile, limit: int = 80) -> str:
    """The request as a title: greeting and the assistant's name dropped, first sentence, trimmed."""
    text = _GREETING.sub("", text.strip())
    if assistant.name:
        text = re.sub(rf"^\s*@?{re.escape(assistant.name)}\b[,:]?\s*", "", text, flags=re.I)
    text = _POLITE.sub("", text)
    first = re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0].strip().rstrip(".!?")
    if len(first) > limit:
        first = first[:limit - 1].rstrip() + "…"
    return first[:1].upper() + first[1:] if first else "Request"


def _voice(assistant: AssistantProfile, body: str, *, first_name: str = "") -> str:
    """Wrap a body in the assistant's voice: greeting by professionalism, emoji and humour by style."""
    formal = assistant.style("professionalism") >= 7
    greeting = (f"Hello {first_name}," if formal else f"Hi {first_name}!") if first_name else (
        "Hello," if formal else "Hi!")
    lines = [greeting, "", body]
    if assistant.style("humor") >= 7:
        lines.append("Consider it handled, no coffee required.")
    text = "\n".join(lines)
    if assistant.style("emojiUse") >= 5:
        text += " 🙂"
    if assistant.signature:
        text += "\n\n" + assistant.signature
    elif assistant.name:
        text += "\n\n" + ("Best regards,\n" if formal else "") + assistant.name
    return text


def _first_name(context) -> str:
    return context.user.name.split()[0] if context.user and context.user.name and "@" not in context.user.name else ""


class LocalEngine(Engine):
    """Rule-based and deterministic: the same context always gives the same result."""

    name = "local"

    def model_name(self, agent) -> str:
        return "local"

    def process_chat(self, context: ChatContext, *, deadline: Deadline) -> ChatResult:
        text = context.latest.content
        if context.open_tasks and (step := open_task_step(context, detect_skill=detect_skill)) is not None:
            return ChatResult(step=step)
        if context.may_ignore and not _GROUP_CALL.search(text):
            return ChatResult(ignored=True)
        skill = detect_skill(text)
        first_name = _first_name(context)
        if skill is None:
            body = "Thanks for your message. I've read it and I'm here if you need anything scheduled, " \
                   "a reminder, a follow-up or travel arranged."
            return ChatResult(reply=_voice(context.assistant, body, first_name=first_name))
        if skill not in context.skills:
            body = f"I'm sorry, I can't help with {skill} requests yet."
            return ChatResult(reply=_voice(context.assistant, body, first_name=first_name))
        title = f"{_LABELS[skill]}: {_summary(text, context.assistant)}"
        if mentions_time(text):
            task = TaskDraft(title=title, type=skill, status=DraftStatus.PENDING, description=text)
            body = f"I'm on it: {title}."
        else:
            question = _QUESTIONS[skill]
            task = TaskDraft(title=title, type=skill, status=DraftStatus.NEEDS_CLARIFICATION,
                             description=f"{text}\n\nClarification needed: {question}")
            body = f"Happy to help with that. {question}"
        return ChatResult(reply=_voice(context.assistant, body, first_name=first_name), tasks=(task,))

    def process_task(self, context: TaskContext, *, deadline: Deadline) -> TaskResult:
        message = context.message.strip()
        first_name = _first_name(context)
        if message and _DONE.search(message):
            return TaskResult(reply=_voice(context.assistant, f"Noted, I've marked \"{context.title}\" as completed.",
                                           first_name=first_name), new_status=TaskOutcome.COMPLETED)
        known = " ".join([context.title, context.description, message])
        if context.type in _QUESTIONS and not mentions_time(known):
            unchanged = context.status == TaskOutcome.NEEDS_CLARIFICATION
            return TaskResult(reply=_voice(context.assistant, _QUESTIONS[context.type], first_name=first_name),
                              new_status=None if unchanged else TaskOutcome.NEEDS_CLARIFICATION)
        new_status = TaskOutcome.IN_PROGRESS if context.status != TaskOutcome.IN_PROGRESS else None
        return TaskResult(reply=_voice(context.assistant, f"Thanks, I'm working on \"{context.title}\".",
                                       first_name=first_name), new_status=new_status)
