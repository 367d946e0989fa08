"""A dependency outage is an answer, not a crash, and service resumes by itself.

A real server process talks to the real PostgreSQL and Redis through TCP proxies that the test
cuts and restores, exactly as a network partition or a restarted server would look to it.
"""
import os
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream; `cut()` drops every connection and refuses new ones."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = self._free_port()
        self._sockets: list[socket.socket] = []
        self._listener = None

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def start(self):
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(64)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        return self

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        self._listener.close()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self._sockets.clear()


@pytest.fixture
def live_server_via_proxies(manager):
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs the real PostgreSQL and Redis")
    db = connection.settings_dict
    redis_url = httpx.URL(settings.REDIS_URL)
    pg_proxy = TcpProxy((db["HOST"], int(db["PORT"]))).start()
    redis_proxy = TcpProxy((redis_url.host, redis_url.port)).start()
    port = TcpProxy._free_port()
    env = {**os.environ,
           "DATABASE_URL": f"postgres://{quote(db['USER'])}@127.0.0.1:{pg_proxy.port}/{db['NAME']}",
           "REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}{redis_url.path}",
           "TSKR_DEBUG": "true", "TSKR_CERTIFICATE_CACHE_SECONDS": "0"}
    env.pop("TSKR_TEST_DATABASE_NAME", None)
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/health", timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("server did not start")
            time.sleep(0.2)
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {manager.token()}"}, timeout=15)
    yield client, pg_proxy, redis_proxy
    client.close()
    server.terminate()
    server.wait(10)
    pg_proxy.cut()
    redis_proxy.cut()


@pytest.mark.django_db(transaction=True)
def test_database_outage_answers_503_and_recovers(live_server_via_proxies):
    client, pg_proxy, _ = live_server_via_proxies
    assert client.get("/assistants").status_code == 200
    pg_proxy.cut()
    response = client.get("/assistants")
    assert response.status_code == 503
    assert response.json()["error_code"] == "database_unavailable"
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["checks"]["database"]["status"] == "down"
    assert "database" in health.json()["error"]
    pg_proxy.start()
    assert client.get("/assistants").status_code == 200
    assert client.get("/health").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_redis_outage_answers_503_and_recovers(live_server_via_proxies):
    client, _, redis_proxy = live_server_via_proxies
    assert client.get("/assistants").status_code == 200
    redis_proxy.cut()
    response = client.get("/assistants")
    assert response.status_code == 503
    assert response.json()["error_code"] == "cache_unavailable"
    health = client.get("/health").json()
    assert health["checks"]["cache"]["status"] == "down" and health["checks"]["broker"]["status"] == "down"
    redis_proxy.start()
    assert client.get("/assistants").status_code == 200
