"""The engine interface, its errors and the time budget every run must fit in."""
import time
from abc import ABC, abstractmethod

from tskr.exceptions import ApplicationError

from .types import ChatContext, ChatResult, TaskContext, TaskResult


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


class Engine(ABC):
    """One assistant brain, two entry points. Implementations must be stateless and thread-safe."""

    name: str

    @abstractmethod
    def model_name(self, agent) -> str:
        """The model a call made for `agent` (an AgentConfig or None) uses: usage is recorded per model."""

    @abstractmethod
    def process_chat(self, context: ChatContext, *, deadline: Deadline) -> ChatResult:
        """Decide whether to answer the latest message; if so, reply and draft tasks (enabled skills only)."""

    @abstractmethod
    def process_task(self, context: TaskContext, *, deadline: Deadline) -> TaskResult:
        """Reply on a task and say whether its status changes (needs_clarification, completed...)."""
