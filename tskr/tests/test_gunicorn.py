"""The shipped gunicorn configuration, run for real: large headers reach the application."""
import http.client
import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

CONFIG = settings.BASE_DIR / "docker" / "gunicorn.conf.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_port():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "1", "--access-logfile", "/dev/null", "tskr.wsgi:application"],
        cwd=settings.BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tskr.settings"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not come up") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(port: int, headers: dict) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/no/such/route", headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def test_a_16_kb_header_reaches_the_application(gunicorn_port):
    status, content_type, body = _get(gunicorn_port, {"Authorization": "Bearer " + "a" * 16 * 1024})
    assert status == 404 and content_type.startswith("application/json"), body
    assert b'"error_code": "not_found"' in body or b'"error_code":"not_found"' in body


def test_headers_past_the_documented_limit_are_still_refused_by_gunicorn(gunicorn_port):
    status, content_type, _ = _get(gunicorn_port, {"Authorization": "Bearer " + "a" * 40 * 1024})
    assert status == 431 and not content_type.startswith("application/json")  # gunicorn's own answer
