"""The assistant engine: one interface, two implementations, chosen by `TSKR_AI_ENGINE`.

Interface (`base.Engine`), every entry point a pure function of its context (no database access):

    engine = get_engine()
    result = engine.process_chat(ChatContext(...), deadline=Deadline(25))   # -> ChatResult
    result = engine.process_task(TaskContext(...), deadline=Deadline(25))   # -> TaskResult
    result = engine.write_followup(FollowupContext(...), deadline=Deadline(25))   # -> TaskResult (reply only)
    # process_chat, the reply also handed to `on_text` in pieces as it is written (streamed answers):
    result = engine.stream_chat(ChatContext(...), deadline=Deadline(25), on_text=callback)

- `ChatResult(ignored, reply, tasks: tuple[TaskDraft])`: `ignored` only when `context.may_ignore`
  (a group message that does not address the assistant); `tasks` only of enabled skills
  (`context.skills`: the agent's usable skills, all four when there is no agent).
- `TaskResult(reply, new_status)`: `new_status` is one of `TaskOutcome` or None (unchanged).
- Both results carry `usage` (`EngineUsage`: the provider's token counts); `engine.model_name(agent)`
  names the model a call uses, for usage accounting (`conversations.usage`).
- Failures raise `EngineUnavailable` (503 `ai_unavailable`), `EngineTimeout` (504 `ai_timeout`) or
  `EngineBadResponse` (502 `ai_bad_response`): ApplicationErrors, so they become the error envelope.
- The run (every attempt, timeout and back-off) ends before `deadline` expires; a caller holding a
  lock passes a deadline shorter than the lock's TTL.

Implementations:
- `local` (`LocalEngine`): deterministic rules, offline, no key. Not a language model.
- `anthropic` (`AnthropicEngine`): one Messages API call per run through the official SDK, the
  decision, reply and tasks returned together through tool use; `stream_chat` makes it through the
  SDK's streaming API and passes text on as the model writes it.

Callers build contexts with `conversations.engine.context` helpers (`assistant_profile`,
`user_profile`, `agent_for`), then write the result themselves inside a transaction.
"""
from django.conf import settings

from .base import Deadline, Engine, EngineBadResponse, EngineError, EngineTimeout, EngineUnavailable
from .context import agent_for, assistant_profile, user_profile
from .types import (
    ALL_SKILLS,
    AssistantProfile,
    ChatContext,
    ChatResult,
    DraftStatus,
    EngineUsage,
    FollowupContext,
    Skill,
    TaskContext,
    TaskDraft,
    TaskOutcome,
    TaskResult,
    TranscriptEntry,
    UserProfile,
)

__all__ = [
    "ALL_SKILLS", "AssistantProfile", "ChatContext", "ChatResult", "Deadline", "DraftStatus", "Engine",
    "EngineBadResponse", "EngineError", "EngineTimeout", "EngineUnavailable", "EngineUsage", "FollowupContext", "Skill", "TaskContext", "TaskDraft",
    "TaskOutcome", "TaskResult", "TranscriptEntry", "UserProfile", "agent_for", "assistant_profile",
    "engine_status", "get_engine", "user_profile",
]


def get_engine() -> Engine:
    """The configured engine. Built per call: settings may change (tests); the Anthropic SDK client is cached."""
    if settings.TSKR_AI_ENGINE == "anthropic":
        from .anthropic_engine import AnthropicEngine

        return AnthropicEngine.from_settings()
    from .local import LocalEngine

    return LocalEngine()


def engine_status() -> dict:
    """For /health: the configured engine, and for Anthropic whether it is configured at all."""
    if settings.TSKR_AI_ENGINE == "anthropic":
        if not settings.ANTHROPIC_API_KEY:
            raise RuntimeError("ANTHROPIC_API_KEY is not set")
        return {"engine": "anthropic", "model": settings.ANTHROPIC_MODEL}
    return {"engine": "local"}
