"""Driving load: wrk for the read endpoints, a sequential HTTP client for writes, and the statistics."""
import http.client
import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> Measurement:
    """Requests/s, p50 and p99 from `wrk --latency`; non-2xx answers and socket errors count as errors."""
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    requests = re.search(r"(\d+) requests in", output)
    if not (percentiles.keys() >= {"50", "99"} and rps and requests):
        raise RuntimeError(f"wrk output not understood:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        # A sync gunicorn worker closes each connection after answering; wrk counts some of those closes
        # as read errors although the response was complete, so only connect errors and timeouts count.
        errors += int(socket.group(1)) + int(socket.group(4))
    return Measurement(float(rps.group(1)), _duration_ms(percentiles["50"]), _duration_ms(percentiles["99"]),
                       int(requests.group(1)), errors)


def wrk(url: str, *, seconds: float, connections: int, headers: dict | None = None) -> Measurement:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(command + [url], capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout)


def request(port: int, method: str, path: str, *, body=None, headers: dict | None = None) -> tuple[int, dict, float]:
    """One HTTP request on a fresh connection: (status, JSON body, milliseconds)."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    elapsed = (time.perf_counter() - started) * 1000
    return response.status, json.loads(payload or b"null"), elapsed


def stream_timings(port: int, path: str, *, body=None, headers: dict | None = None) -> tuple[dict, float]:
    """One streamed request on a fresh connection: ({event name: ms until its first `event:` line}, ms until
    the stream ends), both from the moment the request is sent."""
    all_headers = {"Content-Type": "application/json", "Accept": "text/event-stream", **(headers or {})}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("POST", path, body=json.dumps(body or {}).encode(), headers=all_headers)
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {response.read()[:300]!r}")
        firsts: dict[str, float] = {}
        while line := response.readline():
            if line.startswith(b"event: "):
                firsts.setdefault(line[7:].strip().decode(), (time.perf_counter() - started) * 1000)
        ended = time.perf_counter()
    finally:
        connection.close()
    return firsts, (ended - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summarize(latencies_ms: list[float]) -> Measurement:
    total_seconds = sum(latencies_ms) / 1000
    return Measurement(len(latencies_ms) / total_seconds if total_seconds else 0.0,
                       statistics.median(latencies_ms), percentile(latencies_ms, 0.99), len(latencies_ms), 0)
