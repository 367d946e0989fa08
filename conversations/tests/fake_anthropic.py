"""A local HTTP server speaking the Anthropic Messages API (POST /v1/messages), for the real SDK to call.

Scripted answers are served in order (then the default text answer); every request is recorded with
its headers and JSON body so tests can assert what the SDK sent.

Prompt caching as the real API does it, strictly: the cacheable prefix is the model, the tools and the
system blocks up to the last one marked `cache_control`. A prefix byte-identical to one seen before is
reported as `cache_read_input_tokens`; a new one as `cache_creation_input_tokens` (and remembered); the
rest of the prompt as `input_tokens`. Tokens are counted as bytes / 4. Anything volatile leaking into the
prefix makes every call a cache write, so tests can tell.

A request with `"stream": true` is answered as the Messages API streams (Server-Sent Events):
`message_start`, a `ping`, then per content block `content_block_start`, its deltas (`text_delta`
pieces of `chunk_chars` characters for text, `input_json_delta` pieces of the JSON for a tool call)
and `content_block_stop`, then `message_delta` (stop reason, output tokens) and `message_stop`. Text
pieces are spaced by `chunk_delay` seconds (a model writing at a fixed rate); with `fail_after_chunks`
an `error` event (`overloaded_error`) comes after that many pieces instead of the rest.
"""
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def tool_use(name: str, arguments: dict, index: int = 1) -> dict:
    return {"type": "tool_use", "id": f"toolu_fake_{index}", "name": name, "input": arguments}


def _pieces(value: str, size: int) -> list[str]:
    return [value[start:start + size] for start in range(0, len(value), size)] or [""]


@dataclass
class Answer:
    blocks: list = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    error_type: str = "api_error"
    chunk_chars: int = 8
    chunk_delay: float = 0.0
    fail_after_chunks: int | None = None


class FakeAnthropic:
    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[Answer] = []
        self.default = Answer([text("Noted, thank you.\n\nBest,\nTess")])
        self.on_request = None  # called in the server thread with the parsed body, before answering
        self.cached_prefixes: set[bytes] = set()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": headers, "body": body})
                    answer = fake.script.pop(0) if fake.script else fake.default
                    usage = fake.usage_of(body)
                if fake.on_request:
                    fake.on_request(body)
                time.sleep(answer.delay)
                if self.path != "/v1/messages":
                    not_found = {"type": "error", "error": {"type": "not_found_error", "message": "no route"}}
                    return self._send(404, not_found)
                if answer.status != 200:
                    return self._send(answer.status, {"type": "error",
                                                      "error": {"type": answer.error_type, "message": "fake failure"}})
                uses_tool = any(block["type"] == "tool_use" for block in answer.blocks)
                message = {
                    "id": f"msg_fake_{len(fake.requests)}", "type": "message", "role": "assistant",
                    "model": body["model"], "content": answer.blocks,
                    "stop_reason": "tool_use" if uses_tool else "end_turn", "stop_sequence": None,
                    "usage": usage,
                }
                if body.get("stream"):
                    return self._stream(message, answer)
                self._send(200, message)

            def _stream(self, message, answer):
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("request-id", "req_fake")
                    self.end_headers()
                    self._event("message_start", {"type": "message_start", "message": {
                        **message, "content": [], "stop_reason": None,
                        "usage": {**message["usage"], "output_tokens": 1}}})
                    self._event("ping", {"type": "ping"})
                    chunks = 0
                    for index, block in enumerate(message["content"]):
                        if block["type"] == "text":
                            start, pieces = {"type": "text", "text": ""}, _pieces(block["text"], answer.chunk_chars)
                            delta = lambda piece: {"type": "text_delta", "text": piece}  # noqa: E731
                        else:
                            start = {**block, "input": {}}
                            pieces = _pieces(json.dumps(block["input"]), answer.chunk_chars)
                            delta = lambda piece: {"type": "input_json_delta", "partial_json": piece}  # noqa: E731
                        self._event("content_block_start",
                                    {"type": "content_block_start", "index": index, "content_block": start})
                        for piece in pieces:
                            if answer.fail_after_chunks is not None and chunks >= answer.fail_after_chunks:
                                return self._event("error", {"type": "error", "error": {
                                    "type": "overloaded_error", "message": "Overloaded"}})
                            if block["type"] == "text" and answer.chunk_delay:
                                time.sleep(answer.chunk_delay)
                            self._event("content_block_delta",
                                        {"type": "content_block_delta", "index": index, "delta": delta(piece)})
                            chunks += 1
                        self._event("content_block_stop", {"type": "content_block_stop", "index": index})
                    self._event("message_delta", {
                        "type": "message_delta",
                        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                        "usage": {"output_tokens": message["usage"]["output_tokens"]}})
                    self._event("message_stop", {"type": "message_stop"})
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def _event(self, name, data):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("request-id", "req_fake")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def usage_of(self, body: dict) -> dict:
        """The usage block for a request (see the module docstring); call with the lock held."""
        system = body.get("system") or []
        system = [{"type": "text", "text": system}] if isinstance(system, str) else system
        marked = max((index for index, block in enumerate(system) if block.get("cache_control")), default=-1)
        prefix = json.dumps([body.get("model"), body.get("tools") or [], system[:marked + 1]]).encode()
        rest = len(json.dumps([system[marked + 1:], body.get("messages")]).encode()) // 4
        usage = {"input_tokens": rest, "output_tokens": 30, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0}
        if marked < 0:
            usage["input_tokens"] += len(prefix) // 4
        elif prefix in self.cached_prefixes:
            usage["cache_read_input_tokens"] = len(prefix) // 4
        else:
            self.cached_prefixes.add(prefix)
            usage["cache_creation_input_tokens"] = len(prefix) // 4
        return usage

    def answer(self, *blocks, status: int = 200, delay: float = 0.0, error_type: str = "api_error",
               **streaming) -> None:
        """Script the next answer; `streaming` takes `chunk_chars`, `chunk_delay`, `fail_after_chunks`."""
        self.script.append(Answer(list(blocks), status, delay, error_type, **streaming))

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
