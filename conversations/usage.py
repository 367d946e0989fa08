"""Usage accounting writes: every engine call is recorded as an `EngineCall`, whatever its outcome.

Chat and task processing run the engine through an `EngineCallRecorder`:

    with EngineCallRecorder(account_id=..., assistant=..., chat=chat) as call:
        result = call.run(engine, context, deadline=...)       # times the call, keeps its usage
        ...                                                    # write the result
        call.finished(EngineCall.Outcome.REPLIED, tasks_created=2)

Leaving the block writes one row: the outcome given, or `error` (with the error code) when the block
raised after the engine was called. Nothing is written when the engine was never called (e.g. a chat
with nothing to answer). Kept apart from `services.py` so that processing needs only these few calls.
"""
import logging
import time

from django.db import DatabaseError

from accounts.models import Assistant
from tskr.exceptions import ApplicationError

from .engine import ChatContext, Engine, EngineUsage
from .models import Chat, EngineCall

logger = logging.getLogger("tskr.usage")


def engine_call_record(*, account_id: str, assistant: Assistant | None, chat: Chat | None = None, task=None,
                       model: str, usage: EngineUsage, latency_ms: int, outcome: str, tasks_created: int = 0,
                       error_code: str = "") -> EngineCall:
    """One row: a single INSERT, so it needs no transaction of its own."""
    return EngineCall.objects.create(
        account_id=account_id, assistant=assistant, chat=chat, task=task, model=model[:100],
        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
        cache_write_tokens=usage.cache_write_tokens, cache_read_tokens=usage.cache_read_tokens,
        latency_ms=latency_ms, outcome=outcome, tasks_created=tasks_created, error_code=error_code[:64])


class EngineCallRecorder:
    """Context manager recording the engine call made inside it (see the module docstring)."""

    def __init__(self, *, account_id: str, assistant: Assistant | None, chat: Chat | None = None, task=None):
        self.account_id, self.assistant, self.chat, self.task = account_id, assistant, chat, task
        self.model: str | None = None
        self.usage = EngineUsage()
        self.latency_ms = 0
        self.outcome: str | None = None
        self.tasks_created = 0

    def run(self, engine: Engine, context, **kwargs):
        """`engine.process_chat` or `process_task` (by the context's type; `stream_chat` when given
        `on_text`), timed, its usage kept."""
        if "on_text" in kwargs:
            entry_point = engine.stream_chat
        else:
            entry_point = engine.process_chat if isinstance(context, ChatContext) else engine.process_task
        self.model = engine.model_name(context.agent)
        started = time.monotonic()
        try:
            result = entry_point(context, **kwargs)
        finally:
            self.latency_ms = round((time.monotonic() - started) * 1000)
        self.usage = result.usage
        return result

    def finished(self, outcome: str, *, tasks_created: int = 0) -> None:
        self.outcome, self.tasks_created = outcome, tasks_created

    def __enter__(self) -> "EngineCallRecorder":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.model is None:
            return
        fields = dict(account_id=self.account_id, assistant=self.assistant, chat=self.chat, task=self.task,
                      model=self.model, usage=self.usage, latency_ms=self.latency_ms)
        if exc is None and self.outcome is not None:
            engine_call_record(**fields, outcome=self.outcome, tasks_created=self.tasks_created)
            return
        error_code = exc.error_code if isinstance(exc, ApplicationError) else "internal_error"
        try:
            engine_call_record(**fields, outcome=EngineCall.Outcome.ERROR, error_code=error_code)
        except DatabaseError as record_error:  # the request's own error is the one to report
            logger.warning("could not record a failed engine call: %s", record_error)
