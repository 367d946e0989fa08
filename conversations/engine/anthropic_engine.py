"""The Anthropic engine: one Messages API call per run, through the official SDK.

The ignore decision, the reply and the tasks come back together: text blocks are the reply,
`create_task` tool calls are tasks, an `ignore_message` tool call leaves a group message unanswered.
A plain text answer with no tool call is simply the reply.

The system prompt is two blocks: a stable prefix (agent prompt, persona, style, signature, rules;
identical for every message of an assistant, so it is marked for prompt caching together with the
tools before it) and a volatile block (the user, their memories and preferences, the situation).

The agent's model and max_tokens are used; its temperature is not sent (the SDK's Messages API no
longer takes sampling parameters).

Time: the SDK's own retries are off (its defaults allow minutes); this module retries transient
failures itself, each attempt's timeout cut to what is left of the caller's `Deadline`. A streamed
call (`stream_chat`) is retried only while none of its text has been passed on.
"""
import functools
import json
import random
import time
from collections.abc import Callable

from zoneinfo import ZoneInfo

import anthropic
from django.conf import settings

from .anthropic_steps import CONTINUE_TOOL, STEP_RULES, STEP_TOOLS, describe_open_tasks, read_instant, step_of
from .base import Deadline, Engine, EngineBadResponse, EngineTimeout, EngineUnavailable
from .types import (
    AssistantProfile,
    Skill,
    ChatContext,
    ChatResult,
    DraftStatus,
    EngineUsage,
    FollowupContext,
    TaskContext,
    TaskDraft,
    TaskOutcome,
    TaskResult,
    TranscriptEntry,
    UserProfile,
)

#: Below this much time left an attempt cannot succeed; give up instead of starting it.
MIN_ATTEMPT_SECONDS = 1.0
DEFAULT_MAX_TOKENS = 1024

_BASE_PROMPT = ("You are an executive assistant working for the people of a company over email, chat and "
                "messaging apps. You answer briefly and helpfully, and you turn requests you can act on into tasks.")

_CHAT_RULES = """Rules:
- Reply in plain text, in your own voice, in the register of the platform: by email a short letter
  (greeting, body, your signature when you have one); on SMS, WhatsApp, Slack, Teams and chat one short
  message with no greeting line and no signature.
- For each request you can act on with one of your skills, call create_task once. Use status
  "needs_clarification" and put your question in `question` when a date or time you need is missing;
  otherwise status "pending".
- Requests outside your skills get a polite reply and no task.
- In a group conversation that does not address you, call ignore_message when the message is not meant
  for you (people talking among themselves), and write nothing else.
""" + STEP_RULES

_TASK_RULES = """You are working on one task. Reply to the user in plain text about the task.
Call set_task_status with "needs_clarification" when you need an answer from the user to go on,
"completed" when the task is done or no longer needed, "in_progress" when you are working on it."""


_FOLLOWUP_RULES = """Write a short, polite follow-up message to the person named below, who has not answered
the conversation. Refer to what the thread asked of them, in one to three sentences, in your own voice,
ending with your signature when you have one. Answer with the message only."""


def _style_line(assistant: AssistantProfile) -> str:
    return (f"Writing style (0-10): professionalism {assistant.style('professionalism')}, "
            f"humor {assistant.style('humor')}, emoji use {assistant.style('emojiUse')}.")


def _persona(assistant: AssistantProfile, agent_prompt: str) -> str:
    lines = [agent_prompt or _BASE_PROMPT, "", f"Your name is {assistant.name}."]
    if assistant.email:
        lines.append(f"Your email address is {assistant.email}.")
    if assistant.personality:
        lines.append(f"Personality: {assistant.personality}")
    lines.append(_style_line(assistant))
    if assistant.signature:
        lines.append(f"Signature:\n{assistant.signature}")
    return "\n".join(lines)


def _about_user(user: UserProfile | None, now) -> str:
    lines = [f"Current time (UTC): {now.isoformat() if now else 'unknown'}"]
    if user is None:
        lines.append("The person writing is not a known user of the account.")
        return "\n".join(lines)
    lines.append(f"You are working for {user.name} <{user.email}>"
                 + (f", time zone {user.timezone}." if user.timezone else "."))
    if user.memories:
        lines.append("What you remember about them:\n" + "\n".join(f"- {memory}" for memory in user.memories))
    if user.preferences:
        lines.append("Their preferences, by skill: " + json.dumps(user.preferences, sort_keys=True))
    return "\n".join(lines)


def _system(stable: str, volatile: str) -> list[dict]:
    return [{"type": "text", "text": stable, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": volatile}]


def _messages(transcript: tuple[TranscriptEntry, ...], final: str | None = None) -> list[dict]:
    """The transcript as alternating turns starting with the user, as the Messages API requires."""
    turns: list[dict] = []
    entries = list(transcript)
    if final:
        entries.append(TranscriptEntry(role="user", content=final))
    for entry in entries:
        role = "assistant" if entry.role == "assistant" else "user"
        text = f"[{entry.author}] {entry.content}" if role == "user" and entry.author else entry.content
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(conversation start)"})
    if turns[-1]["role"] != "user":
        turns.append({"role": "user", "content": "(please continue)"})
    return turns


def _chat_tools(skills: frozenset[str]) -> list[dict]:
    tools = [{
        "name": "ignore_message",
        "description": "Leave a group message unanswered because it is not meant for you.",
        "input_schema": {"type": "object", "properties": {"reason": {"type": "string"}}},
    }]
    if skills:
        tools.append({
            "name": "create_task",
            "description": "Create a task for a request you can act on with one of your skills.",
            "input_schema": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "Short imperative title"},
                    "description": {"type": "string", "description": "Everything needed to do the task"},
                    "type": {"type": "string", "enum": sorted(skills)},
                    "status": {"type": "string", "enum": list(DraftStatus.values)},
                    "question": {"type": "string", "description": "For needs_clarification: what to ask"},
                    "start": {"type": "string", "description": "Scheduling: the precise time asked for, ISO 8601 "
                                                               "with offset"},
                },
                "required": ["title", "type", "status"],
            },
        })
    if Skill.SCHEDULING in skills:
        tools.extend(STEP_TOOLS)
    elif skills:  # no scheduling: its tools aside, an open task may still be continued or called off
        tools.append(CONTINUE_TOOL)
    return tools


_TASK_TOOLS = [{
    "name": "set_task_status",
    "description": "Change the task's status.",
    "input_schema": {"type": "object", "properties": {"status": {"type": "string", "enum": list(TaskOutcome.values)}},
                     "required": ["status"]},
}]


def _chat_request(context: ChatContext) -> dict:
    """The Messages API request (without model and max_tokens) answering a chat's latest message."""
    agent = context.agent
    stable = _persona(context.assistant, agent.system_prompt if agent else "") + "\n\n" + _CHAT_RULES
    situation = [_about_user(context.user, context.now), f"Platform: {context.platform}."]
    if context.subject:
        situation.append(f"Subject: {context.subject}")
    situation.append(f"The latest message reached {context.audience} people besides you"
                     + (" and addresses you directly: answer it." if context.directly_addressed else "."))
    if context.open_tasks:
        situation.append(describe_open_tasks(context.open_tasks))
    return {"system": _system(stable, "\n".join(situation)), "tools": _chat_tools(context.skills),
            "messages": _messages(context.transcript)}


def _chat_result(context: ChatContext, response) -> ChatResult:
    reply, calls = _split(response)
    if (step := step_of(context, calls)) is not None:
        return ChatResult(reply=reply, step=step, usage=_usage(response))
    if context.may_ignore and any(name == "ignore_message" for name, _ in calls):
        return ChatResult(ignored=True, usage=_usage(response))
    tasks, questions = [], []
    for name, arguments in calls:
        if name == "create_task":
            task, question = _draft(arguments, context.skills)
            if task is not None:
                tasks.append(task)
                questions.extend([question] if question else [])
    if not reply:
        reply = " ".join(questions) or "; ".join(task.title for task in tasks)
    if not reply:
        raise EngineBadResponse("The AI engine returned neither a reply nor a task")
    return ChatResult(reply=reply, tasks=tuple(tasks), usage=_usage(response))


class _ReplyPieces:
    """Passes the model's text deltas on so that, joined, they are the reply `_split` makes of the final
    message (each text block stripped, blocks joined by a blank line): leading whitespace of a block is
    dropped, trailing whitespace held back until more text of the same block follows it."""

    def __init__(self, on_text: Callable[[str], None]):
        self.on_text = on_text
        self.sent = ""
        self._held = ""
        self._in_block = False

    def block_start(self) -> None:
        self._held, self._in_block = "", False

    def text(self, piece: str) -> None:
        if not self._in_block:
            piece = piece.lstrip()
            if not piece:
                return
            piece = ("\n\n" if self.sent else "") + piece
            self._in_block = True
        piece = self._held + piece
        body = piece.rstrip()
        self._held = piece[len(body):]
        if body:
            self._send(body)

    def finish(self, reply: str) -> None:
        """Hand over what the reply has beyond the streamed text (a reply made up from the tasks)."""
        if reply.startswith(self.sent) and len(reply) > len(self.sent):
            self._send(reply[len(self.sent):])

    def _send(self, piece: str) -> None:
        self.sent += piece
        self.on_text(piece)


@functools.lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout: float) -> anthropic.Anthropic:
    """One SDK client per process and configuration, reused by every engine built from the same settings.

    Building a client loads the CA bundle and starts with an empty connection pool, which would be
    paid again by every request; the client is thread-safe, so it is shared. Keyed by what it is built from,
    so a change of settings (tests) gets its own client. Each call still passes its own timeout.
    """
    return anthropic.Anthropic(api_key=api_key, base_url=base_url or None, max_retries=0, timeout=timeout)


class AnthropicEngine(Engine):
    name = "anthropic"
    uses_candidates = True

    def __init__(self, *, api_key: str, base_url: str | None, model: str, timeout: float, max_retries: int):
        self.model, self.timeout, self.max_retries = model, timeout, max_retries
        self.client = _client(api_key, base_url or None, timeout)

    @classmethod
    def from_settings(cls) -> "AnthropicEngine":
        if not settings.ANTHROPIC_API_KEY:
            raise EngineUnavailable("The AI engine is not configured (ANTHROPIC_API_KEY is not set)")
        return cls(api_key=settings.ANTHROPIC_API_KEY, base_url=settings.ANTHROPIC_BASE_URL,
                   model=settings.ANTHROPIC_MODEL, timeout=settings.TSKR_AI_TIMEOUT_SECONDS,
                   max_retries=settings.TSKR_AI_MAX_RETRIES)

    def model_name(self, agent) -> str:
        return agent.model if agent and agent.model else self.model

    # -- entry points ----------------------------------------------------------------------------
    def process_chat(self, context: ChatContext, *, deadline: Deadline) -> ChatResult:
        response = self._create(deadline=deadline, agent=context.agent, **_chat_request(context))
        return _chat_result(context, response)

    def stream_chat(self, context: ChatContext, *, deadline: Deadline, on_text: Callable[[str], None]) -> ChatResult:
        """The same call through the SDK's streaming API: text deltas go to `on_text` as the model writes
        them (shaped by `_ReplyPieces`), tool calls are read from the final message. A reply made up
        from the tasks (the model wrote no text) is handed over at the end."""
        pieces = _ReplyPieces(on_text)
        response = self._stream(deadline=deadline, agent=context.agent, pieces=pieces, **_chat_request(context))
        result = _chat_result(context, response)
        if not result.ignored:
            pieces.finish(result.reply)
        return result

    def process_task(self, context: TaskContext, *, deadline: Deadline) -> TaskResult:
        agent = context.agent
        stable = _persona(context.assistant, agent.system_prompt if agent else "") + "\n\n" + _TASK_RULES
        situation = "\n".join([
            _about_user(context.user, context.now),
            f"Task ({context.type}, status {context.status}): {context.title}",
            context.description,
        ])
        response = self._create(deadline=deadline, agent=agent, system=_system(stable, situation), tools=_TASK_TOOLS,
                                messages=_messages(context.history, context.message or "Please work on this task."))
        reply, calls = _split(response)
        statuses = [arguments.get("status") for name, arguments in calls if name == "set_task_status"]
        new_status = next((status for status in reversed(statuses) if status in TaskOutcome.values), None)
        if not reply:
            raise EngineBadResponse("The AI engine returned no reply")
        return TaskResult(reply=reply, new_status=new_status, usage=_usage(response))

    def write_followup(self, context: FollowupContext, *, deadline: Deadline) -> TaskResult:
        agent = context.agent
        stable = _persona(context.assistant, agent.system_prompt if agent else "") + "\n\n" + _FOLLOWUP_RULES
        situation = "\n".join([_about_user(context.user, context.now), f"Task: {context.title}", context.description,
                               f"Follow up with: {context.person} (follow-up number {context.attempt})"])
        response = self._create(deadline=deadline, agent=agent, system=_system(stable, situation),
                                messages=_messages(context.thread, f"Write follow-up number {context.attempt} to "
                                                                   f"{context.person} now."))
        reply, _ = _split(response)
        if not reply:
            raise EngineBadResponse("The AI engine returned no follow-up")
        return TaskResult(reply=reply, usage=_usage(response))

    # -- the call --------------------------------------------------------------------------------
    def _create(self, *, deadline: Deadline, agent, **request):
        return self._attempts(deadline, agent, request,
                              lambda timeout: self.client.messages.create(**request, timeout=timeout))

    def _stream(self, *, deadline: Deadline, agent, pieces: _ReplyPieces, **request):
        """One streamed call. A failed attempt is retried only while no text was handed over (a retry
        would write the reply again); the deadline is checked at every event, since a model that keeps
        writing never trips the read timeout."""

        def attempt(timeout: float):
            with self.client.messages.stream(**request, timeout=timeout) as stream:
                for event in stream:
                    if deadline.remaining() <= 0:
                        raise EngineTimeout()
                    if event.type == "content_block_start" and event.content_block.type == "text":
                        pieces.block_start()
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        pieces.text(event.delta.text)
                return stream.get_final_message()

        return self._attempts(deadline, agent, request, attempt, may_retry=lambda: not pieces.sent)

    def _attempts(self, deadline: Deadline, agent, request: dict, attempt: Callable[[float], object], *,
                  may_retry: Callable[[], bool] = lambda: True):
        request["model"] = self.model_name(agent)
        request["max_tokens"] = agent.max_tokens if agent and agent.max_tokens else DEFAULT_MAX_TOKENS
        failure: Exception = EngineTimeout()
        for number in range(self.max_retries + 1):
            remaining = deadline.remaining()
            if remaining < MIN_ATTEMPT_SECONDS:
                break
            try:
                return attempt(min(self.timeout, remaining))
            except anthropic.APITimeoutError:
                failure = EngineTimeout()
            except anthropic.APIConnectionError:
                failure = EngineUnavailable("The AI engine could not be reached; retry shortly")
            except anthropic.APIStatusError as exc:
                if exc.status_code in (401, 403):
                    raise EngineUnavailable("The AI engine refused our credentials") from exc
                if exc.status_code < 400:  # an `error` event in the middle of a streamed answer
                    failure = EngineUnavailable("The AI engine failed while answering; retry shortly")
                elif exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    raise EngineBadResponse(f"The AI engine rejected the request ({exc.status_code})") from exc
                else:
                    failure = EngineUnavailable(f"The AI engine is unavailable ({exc.status_code}); retry shortly")
            if number >= self.max_retries or not may_retry():
                break
            time.sleep(min(0.25 * 2 ** number + random.uniform(0, 0.1), deadline.remaining()))
        raise failure


def _usage(response) -> EngineUsage:
    """The response's token counts; the cache fields are absent (None) when the provider has nothing to say."""
    usage = response.usage
    return EngineUsage(input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0,
                       cache_write_tokens=getattr(usage, "cache_creation_input_tokens", None) or 0,
                       cache_read_tokens=getattr(usage, "cache_read_input_tokens", None) or 0)


def _split(response) -> tuple[str, list[tuple[str, dict]]]:
    """(reply text, [(tool name, arguments)]) of a Messages API response."""
    texts, calls = [], []
    for block in response.content or []:
        if block.type == "text" and block.text.strip():
            texts.append(block.text.strip())
        elif block.type == "tool_use":
            calls.append((block.name, block.input if isinstance(block.input, dict) else {}))
    return "\n\n".join(texts), calls


def _draft(arguments: dict, skills: frozenset[str]) -> tuple[TaskDraft | None, str]:
    """A task from a create_task call; None for a skill that is not enabled or a call without a title."""
    title = str(arguments.get("title") or "").strip()[:300]
    skill = arguments.get("type")
    if not title or skill not in skills:
        return None, ""
    status = arguments.get("status")
    status = status if status in DraftStatus.values else DraftStatus.PENDING
    question = str(arguments.get("question") or "").strip()
    description = str(arguments.get("description") or "").strip()
    if question:
        description = f"{description}\n\nClarification needed: {question}".strip()
    start = read_instant(arguments["start"], zone=ZoneInfo("UTC")) if arguments.get("start") else None
    return TaskDraft(title=title, type=skill, status=status, description=description,
                     start=start if skill == Skill.SCHEDULING else None), question
