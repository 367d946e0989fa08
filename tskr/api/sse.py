"""Server-Sent Events: a response fed by work running in its own thread.

The work runs in a thread of its own and hands events to the response through a queue, so it goes
on to its end (and stores its result) when the client disconnects: the server then stops reading
the queue, and nothing else changes. While no event comes, the response writes a `: ping` comment
every `ping_seconds`, which keeps proxies and clients from timing the connection out. Events carry
`id:` 1, 2, 3...; their data is one line of JSON, encoded as the API's JSON bodies are.
"""
import logging
import queue
import threading
from collections.abc import Callable, Iterator

from django.db import connection
from django.http import StreamingHttpResponse
from rest_framework.negotiation import DefaultContentNegotiation

from ..exceptions import ApplicationError
from .exception_handler import error_body
from .renderers import EnvelopeRenderer

logger = logging.getLogger("tskr.errors")

MEDIA_TYPE = "text/event-stream"
PING = b": ping\n\n"
_CLOSED = object()


def accepts_event_stream(request) -> bool:
    """Whether the request's Accept header names text/event-stream (other types beside it are ignored)."""
    accept = request.META.get("HTTP_ACCEPT", "")
    return MEDIA_TYPE in accept and any(part.split(";")[0].strip().lower() == MEDIA_TYPE
                                        for part in accept.split(","))


class EventSink:
    """What the work writes to: `send(event, data)`; thread-safe, never blocks."""

    def __init__(self):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()

    def send(self, event: str, data: dict) -> None:
        self._queue.put((event, data))

    def close(self) -> None:
        self._queue.put(_CLOSED)

    def frames(self, ping_seconds: float) -> Iterator[bytes]:
        encode = EnvelopeRenderer().render
        event_id = 0
        while True:
            try:
                item = self._queue.get(timeout=ping_seconds)
            except queue.Empty:
                yield PING
                continue
            if item is _CLOSED:
                return
            event_id += 1
            event, data = item
            yield b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.encode(), encode(data))


def _run(work: Callable[[EventSink], None], sink: EventSink) -> None:
    """Run the work; an error it raises becomes an `error` event (an unexpected one is logged as a 500 is)."""
    try:
        work(sink)
    except ApplicationError as exc:
        sink.send("error", error_body(exc.message, exc.error_code))
    except Exception:
        logger.exception("unhandled error in a streamed response")
        sink.send("error", error_body("Internal server error", "internal_error"))
    finally:
        sink.close()
        connection.close()


def event_stream_response(work: Callable[[EventSink], None], *, ping_seconds: float) -> StreamingHttpResponse:
    """A 200 text/event-stream response streaming what `work(sink)` sends, `work` started in a new thread.

    The thread is not a daemon: a worker shutting down lets a run whose client left finish and store
    its result (it ends within the engine's budget).
    """
    sink = EventSink()
    threading.Thread(target=_run, args=(work, sink), name="tskr-sse").start()
    response = StreamingHttpResponse(sink.frames(ping_seconds), content_type=MEDIA_TYPE)
    response["Cache-Control"] = "no-store"  # an authenticated answer, like every other (tskr.api.middleware)
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response


class EventStreamNegotiation(DefaultContentNegotiation):
    """For a view that streams events itself when asked to: a request accepting text/event-stream is
    answered as JSON whenever it gets a body instead of a stream (an error before the stream starts),
    rather than 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if accepts_event_stream(request):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
