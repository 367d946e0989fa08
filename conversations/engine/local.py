"""The offline engine: deterministic rules, no network, no key. It is not a language model.

It recognises requests for the four skills (`understanding`: general rules over the words, measured
by `manage.py evaluate_engine`), creates a task of that type, and asks a clarifying question only
for what it cannot default (a reminder's time, a trip's dates). It answers in the assistant's voice
and in the platform's register: a letter by email (greeting, signature), one short message on SMS,
WhatsApp, Slack, Teams and chat.
"""
import re
from dataclasses import replace

from .base import Deadline, Engine
from .continuation import open_task_step
from .types import (
    AssistantProfile,
    ChatContext,
    ChatResult,
    DraftStatus,
    FollowupContext,
    Skill,
    TaskContext,
    TaskDraft,
    TaskOutcome,
    TaskResult,
)
from .understanding import (
    CONVERSATIONAL_LIMIT,
    calls_on_assistant,
    detect_skill,
    is_letter_platform,
    mentions_time,
    needs_clarification,
    request_sentence,
    small_talk,
)

__all__ = ["LocalEngine", "detect_skill", "mentions_time"]

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


_CONVERSATIONAL_BODIES = {
    "thanks": "You're welcome!",
    "hello": "Hi{name}! What can I do for you?",
    None: "I can schedule meetings, set reminders, follow up with people and arrange travel. What do you need?",
}
_LETTER_BODY = ("Thanks for your message. I've read it and I'm here if you need anything scheduled, a reminder, "
                "a follow-up or travel arranged.")


def _conversational(assistant: AssistantProfile, body: str) -> str:
    """One short message, as people write on SMS, WhatsApp, Slack, Teams or a chat: no greeting line, no
    signature; an emoji when the style uses them."""
    if assistant.style("emojiUse") >= 5:
        body += " 🙂"
    return body if len(body) <= CONVERSATIONAL_LIMIT else body[:CONVERSATIONAL_LIMIT - 1].rstrip() + "…"


def _reply(context: ChatContext, body: str) -> str:
    """The body in the register of the message's platform: a letter by email, a short message elsewhere."""
    if is_letter_platform(context.platform):
        return _voice(context.assistant, body, first_name=_first_name(context))
    return _conversational(context.assistant, body)


def _no_request_body(context: ChatContext, text: str) -> str:
    if is_letter_platform(context.platform):
        return _LETTER_BODY
    name = _first_name(context)
    return _CONVERSATIONAL_BODIES[small_talk(text)].format(name=f" {name}" if name else "")


def _first_name(context) -> str:
    return context.user.name.split()[0] if context.user and context.user.name and "@" not in context.user.name else ""


class LocalEngine(Engine):
    """Rule-based and deterministic: the same context always gives the same result."""

    name = "local"

    def model_name(self, agent) -> str:
        return "local"

    def process_chat(self, context: ChatContext, *, deadline: Deadline) -> ChatResult:
        step = open_task_step(context, detect_skill=detect_skill) if context.open_tasks else None
        if step is None:
            return self._answer(context)
        # what to answer should the agent turn the step down (a teammate calling off the owner's task);
        # a group message that would be ignored continues the task or gets nothing
        fallback = self._answer(context)
        return ChatResult(step=step) if fallback.ignored else replace(fallback, step=step)

    def _answer(self, context: ChatContext) -> ChatResult:
        """The answer to a message that continues no open task: ignore it, reply, maybe create a task."""
        text = context.latest.content
        if context.may_ignore and not calls_on_assistant(text):
            return ChatResult(ignored=True)
        skill = detect_skill(text)
        if skill is None:
            return ChatResult(reply=_reply(context, _no_request_body(context, text)))
        if skill not in context.skills:
            return ChatResult(reply=_reply(context, f"I'm sorry, I can't help with {skill} requests yet."))
        title = f"{_LABELS[skill]}: {_summary(request_sentence(text), context.assistant)}"
        if not needs_clarification(skill, text):
            task = TaskDraft(title=title, type=skill, status=DraftStatus.PENDING, description=text)
            body = f"I'm on it: {title}."
        else:
            question = _QUESTIONS[skill]
            task = TaskDraft(title=title, type=skill, status=DraftStatus.NEEDS_CLARIFICATION,
                             description=f"{text}\n\nClarification needed: {question}")
            body = f"Happy to help with that. {question}"
        return ChatResult(reply=_reply(context, body), tasks=(task,))

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

    def write_followup(self, context: FollowupContext, *, deadline: Deadline) -> TaskResult:
        subject = context.title.removeprefix(f"{_LABELS[Skill.FOLLOWUPS]}: ")
        owner = context.user.name if context.user and context.user.name else "us"
        body = (f"Just following up on my earlier message about \"{subject}\" on behalf of {owner}. "
                "Could you let me know when you have a moment?")
        return TaskResult(reply=_voice(context.assistant, body))
