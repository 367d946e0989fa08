"""Test helpers shared by every app: callers (personas) with signed tokens and a JSON API client.

Personas, as in healthchecks: `alice` (a user of account Acme), `bob` (her teammate, same account),
`manager` (Acme management token, no user), `charlie` (a user of another account, Globex) who must
see 404s for everything of Acme's.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Account, Certificate, User
from accounts.services import generate_key_pair, user_get_or_provision
from accounts.tokens import mint_token
from tskr.infra.ids import new_id


@lru_cache(maxsize=4)
def key_pair(slot: int = 0) -> tuple[str, str]:
    """(public PEM, private PEM), generated once per test session per slot: RSA generation is slow."""
    return generate_key_pair()


def make_certificate(account: Account, *, slot: int = 0, status: str = Certificate.Status.ACTIVE) -> tuple[Certificate, str]:
    public_pem, private_pem = key_pair(slot)
    certificate = Certificate.objects.create(account=account, kid=new_id("kid"), public_key_pem=public_pem,
                                             status=status)
    return certificate, private_pem


class ApiClient:
    """JSON requests with a bearer token; returns DRF test responses (`.status_code`, `.json()`)."""

    def __init__(self, token: str | None = None):
        self._client = APIClient()
        self.token = token

    def request(self, method: str, path: str, data=None, *, token: str | None = None, headers: dict | None = None):
        extra = {}
        bearer = token if token is not None else self.token
        if bearer:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        call = getattr(self._client, method.lower())
        if method.upper() == "GET":
            return call(path, data=data, **extra)
        return call(path, data=data, format="json", **extra)

    def get(self, path, params=None, **kwargs):
        return self.request("GET", path, params, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("POST", path, data, **kwargs)

    def put(self, path, data=None, **kwargs):
        return self.request("PUT", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self.request("PATCH", path, data, **kwargs)

    def delete(self, path, data=None, **kwargs):
        return self.request("DELETE", path, data, **kwargs)


@dataclass
class Caller:
    """Somebody calling the API: an account's certificate, and an email for delegated tokens."""

    account: Account
    certificate: Certificate
    private_pem: str
    email: str | None = None
    first_name: str = ""
    last_name: str = ""
    _user: User | None = field(default=None, repr=False)

    def token(self, **claims) -> str:
        return mint_token(kid=self.certificate.kid, private_key_pem=self.private_pem, email=self.email,
                          first_name=self.first_name, last_name=self.last_name, **claims)

    @property
    def client(self) -> ApiClient:
        return ApiClient(self.token())

    @property
    def user(self) -> User:
        """The provisioned user (as the first delegated request would create it)."""
        if self._user is None:
            assert self.email, "a management caller has no user"
            self._user = user_get_or_provision(account=self.account, email=self.email, first_name=self.first_name,
                                               last_name=self.last_name)
        return self._user

    def teammate(self, email: str, **names) -> "Caller":
        return Caller(self.account, self.certificate, self.private_pem, email, **names)

    def management(self) -> "Caller":
        return Caller(self.account, self.certificate, self.private_pem, None)


def make_caller(account_name: str, email: str | None, *, staff: bool = False, **names) -> Caller:
    account = Account.objects.create(name=account_name, staff=staff)
    certificate, private_pem = make_certificate(account)
    return Caller(account, certificate, private_pem, email, **names)


def subprocess_env() -> dict:
    """The environment for a server or worker subprocess working on the test database (and test Redis)."""
    db = connection.settings_dict
    env = os.environ.copy()
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}@{db['HOST']}:"
                               f"{db['PORT']}/{db['NAME']}")
    env.pop("TSKR_TEST_DATABASE_NAME", None)
    return env


@contextmanager
def running_process(command: list[str], *, ready: Callable[[bytes], bool], env: dict | None = None,
                    timeout: float = 30.0):
    """Run `command` (cwd: the project) until the block ends; it is ready when `ready(its output so far)`.
    Its output is attached to the assertion message when it fails to start."""
    from django.conf import settings

    log = tempfile.NamedTemporaryFile(prefix="tskr-process-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env or subprocess_env(), stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not ready(Path(log.name).read_bytes()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{command[:3]} did not start:\n" + Path(log.name).read_text())
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@contextmanager
def running_celery_worker(*, timeout: float = 30.0):
    """Run a real `celery worker` subprocess on the test database and the test Redis, then stop it.

    Tests using it need committed data: mark them `@pytest.mark.django_db(transaction=True)`.
    """
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("a real Celery worker needs REDIS_URL")
    command = [sys.executable, "-m", "celery", "-A", "tskr", "worker", "--pool=solo", "--without-heartbeat",
               "--without-gossip", "--without-mingle", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-l", "INFO",
               "-n", f"test-{os.getpid()}@%h"]
    with running_process(command, ready=lambda output: b" ready." in output, timeout=timeout) as process:
        yield process


@dataclass
class ServerSentEvent:
    """One event of a text/event-stream response; `data` decoded from JSON, `raw` as it came."""

    id: int
    event: str
    data: dict
    raw: str


def read_events(lines, *, until: Callable[["ServerSentEvent"], bool] | None = None) -> tuple[list, int]:
    """([ServerSentEvent], number of `: ping` comments) from an iterator of the response's lines; stops
    early after the event for which `until` is true."""
    import json

    events, pings, fields = [], 0, {}
    for line in lines:
        if line == ": ping":
            pings += 1
        elif line:
            name, _, value = line.partition(": ")
            fields[name] = value
        elif fields:
            events.append(ServerSentEvent(int(fields["id"]), fields["event"], json.loads(fields["data"]),
                                          fields["data"]))
            fields = {}
            if until is not None and until(events[-1]):
                break
    return events, pings


def run_together(*calls: Callable[[], object]) -> list:
    """Run `calls` in threads released at the same moment; answer what each returned, or the exception
    it raised, in the order given. Each thread closes its own database connection.

    The threads use their own connections, so they see only committed data: use it in
    `django_db(transaction=True)` tests.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # handed to the test, which asserts on it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def admin_error_messages(response) -> list[str]:
    """The error messages a staff screen showed (Django's test client, a response followed to its page)."""
    return [str(message) for message in response.context["messages"] if message.level_tag == "error"]
