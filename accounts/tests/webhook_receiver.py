"""A loopback HTTP server playing a webhook receiver: it records every request and answers from a
script (status, headers, body, an optional pause), then 200 once the script runs out."""
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b"ok"
    pause: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() on arrival


class WebhookReceiver:
    def __init__(self):
        self.requests: list[Received] = []
        self.script: list[Answer] = []
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as real servers set it: the status and headers go out in one write and the body
            # in another, and with Nagle's algorithm the body waited for the client's delayed ACK (~40 ms
            # per request on a kept-alive connection).
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.time()))
                    answer = receiver.script.pop(0) if receiver.script else Answer()
                receiver.arrived.set()
                time.sleep(answer.pause)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
