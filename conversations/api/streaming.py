"""`POST /chats/:id/process` answered as Server-Sent Events: the events of one started processing."""
from collections.abc import Callable

from tskr.api.sse import EventSink

from .. import hooks, services
from .serializers import process_body


def process_events(started: services.StartedProcess) -> Callable[[EventSink], None]:
    """The work streamed for a started processing (its lock held, or a replay): `start`, the reply's
    `delta`s, a `task` for each of its tasks, then `done` carrying exactly the synchronous body. An
    error raised on the way becomes the `error` event (`tskr.api.sse`), in place of `done`.

    The lock is released when the outcome is stored, before the `task` and `done` events are written,
    so a client reacting to `done` never finds the chat still locked.
    """

    def work(sink: EventSink) -> None:
        sink.send("start", {"chatId": started.chat.id, "messageId": started.latest.id})
        outcome = services.chat_process_finish(started=started,
                                               on_delta=lambda text: sink.send("delta", {"text": text}))
        if outcome.task_ids:
            for listed in hooks.tasks_presented(account=started.chat.account, task_ids=outcome.task_ids):
                for task in listed:
                    sink.send("task", {"task": task})
        sink.send("done", {"ok": True, **process_body(outcome)})

    return work
