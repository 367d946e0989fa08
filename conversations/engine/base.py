"""The engine interface, its errors and the time budget every run must fit in."""
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from tskr.exceptions import ApplicationError

from .types import ChatContext, ChatResult, FollowupContext, TaskContext, TaskResult


class EngineError(ApplicationError):
    """Base of engine failures; each maps to the error envelope by itself."""

    status_code = 503
    error_code = "ai_unavailable"
    default_message = "The AI engine is unavailable; retry shortly"


class EngineUnavailable(EngineError):
    """The model provider is down, overloaded, rate-limiting or refusing our credentials (503)."""

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("headers", {"Retry-After": "10"})
        super().__init__(message, **kwargs)


class EngineTimeout(EngineError):
    """The model did not answer within the time budget (504)."""

    status_code = 504
    error_code = "ai_timeout"
    default_message = "The AI engine did not answer in time; retry shortly"


class EngineBadResponse(EngineError):
    """The provider answered something we cannot use (502)."""

    status_code = 502
    error_code = "ai_bad_response"
    default_message = "The AI engine returned an unusable answer"


class Deadline:
    """A wall-clock budget: an engine run (every attempt and back-off) must end before it expires.

    Chat processing gives the engine less than the lock's TTL, so the lock cannot expire while the
    engine is still working for its owner.
    """

    def __init__(self, seconds: float):
        self.expires_at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())


#: A word with the whitespace before it, or trailing whitespace: joined, the pieces are the text again.
_WORDS = re.compile(r"\s*\S+|\s+$")


class Engine(ABC):
    """One assistant brain: a chat entry point (plain or streamed) and a task entry point. Implementations
    must be stateless and thread-safe."""

    name: str
    #: The engine picks among candidate slots computed before its call (`OpenTask.candidates`); the local
    #: engine reads replies against the proposed slots only, so nobody computes candidates for it.
    uses_candidates: bool = False

    @abstractmethod
    def model_name(self, agent) -> str:
        """The model a call made for `agent` (an AgentConfig or None) uses: usage is recorded per model."""

    @abstractmethod
    def process_chat(self, context: ChatContext, *, deadline: Deadline) -> ChatResult:
        """Decide whether to answer the latest message; if so, reply and draft tasks (enabled skills only)."""

    def stream_chat(self, context: ChatContext, *, deadline: Deadline, on_text: Callable[[str], None]) -> ChatResult:
        """`process_chat`, handing the reply to `on_text` in pieces as it is written; the pieces joined are
        the result's `reply`. Pieces may come before the engine has decided to ignore the message (a model
        writes first): a caller that must not show an ignored reply holds them until the result.

        This default writes the finished reply word by word (the local engine's reply is ready at once);
        an engine that can stream its model's output overrides it.
        """
        result = self.process_chat(context, deadline=deadline)
        if not result.ignored and result.step is None:  # a step's answer is what the agent sends
            for piece in _WORDS.findall(result.reply):
                on_text(piece)
        return result

    @abstractmethod
    def process_task(self, context: TaskContext, *, deadline: Deadline) -> TaskResult:
        """Reply on a task and say whether its status changes (needs_clarification, completed...)."""

    @abstractmethod
    def write_followup(self, context: FollowupContext, *, deadline: Deadline) -> TaskResult:
        """Write a short follow-up to `context.person`, who has not answered the thread; its `reply` is the
        message (no status: the caller decides what happens to the task)."""
