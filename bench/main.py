"""The bench driver (`bench/run` calls it): database, seed, gunicorn, scenarios, table and JSON.

Every figure is a ratio against a baseline measured in the same run, the variants of a scenario
interleaved round by round (A B, B A, ...), the ratio the median over rounds of each round's ratio.
Absolute numbers are printed for context only: they depend on the machine and whatever else runs on it.
"""
import argparse
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from cryptography.fernet import Fernet

from . import report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
for _name, _value in {
    "TSKR_DEBUG": "false",
    "TSKR_SECRET_KEY": secrets.token_urlsafe(48),
    "TSKR_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "TSKR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    # The limiter still counts every request (one Redis round trip) but never blocks the bench.
    "TSKR_RATE_LIMIT_PER_MINUTE": "1000000000",
    "TSKR_LOG_LEVEL": "WARNING",
    # Scenario 7's webhook receiver listens on loopback.
    "TSKR_WEBHOOKS_ALLOW_PRIVATE": "true",
}.items():
    os.environ.setdefault(_name, _value)


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def gunicorn(env: dict, *, workers: int = 2):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.wsgi:application", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
        cwd=ROOT, env={**os.environ, **env})
    try:
        from .loadgen import request

        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not come up")
            time.sleep(0.2)
        yield port
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful shutdown), then SIGKILL after 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def revision() -> str:
    """The commit measured, `+dirty` when the working tree has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                            if line.startswith("Model name")), "")
        meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0]
        info["memory_gb"] = round(int(meminfo.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small seed, short rounds (CI: proves it works)")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers, e.g. 1,5 (3 runs with 1)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per scenario (default 2 quick, 8 full)")
    parser.add_argument("--seconds", type=float, help="seconds per wrk run (default 2 quick, 5 full)")
    parser.add_argument("--connections", type=int, default=2, help="wrk connections (default 2: one per worker)")
    parser.add_argument("--profile", metavar="PATH", help="profile PATH in-process with pyinstrument instead "
                        "(placeholders {chat}, {process_chat}), e.g. '/chats/{chat}/messages?perPage=50'")
    parser.add_argument("--method", default="GET", help="with --profile: the HTTP method")
    parser.add_argument("--body", help="with --profile: the JSON body")
    parser.add_argument("--count", type=int, default=300, help="with --profile: requests to profile")
    parser.add_argument("--show-all", action="store_true", help="with --profile: library frames too")
    args = parser.parse_args(argv)

    # The model is a local stub speaking the Messages API, answering at once (scenario 5).
    from conversations.tests.fake_anthropic import FakeAnthropic

    stub = FakeAnthropic().start()
    os.environ.update({"TSKR_AI_ENGINE": "anthropic", "ANTHROPIC_API_KEY": "bench", "ANTHROPIC_BASE_URL": stub.url})
    # Google and Microsoft are the test suite's loopback fake (scenario 9 books against it).
    from calendars_app.tests.fake_providers import FakeProviders

    providers = FakeProviders().start()
    os.environ.update(providers.settings_values())

    log(f"recreating database {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}")
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tskr.infra.redis_client import get_redis

    from . import scenarios
    from .seed import FULL, QUICK, seed

    call_command("migrate", verbosity=0, interactive=False)
    size = QUICK if args.quick else FULL
    started = time.monotonic()
    seeded = seed(size, log=log)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"seeded in {time.monotonic() - started:.0f} s")
    # The in-process scenario (13) then runs on a connection of its own, as a worker would, not on the
    # one that copied and analysed the seed (the agent step was slower on it: bench/README.md).
    connection.close()
    get_redis().flushdb()  # the bench's own Redis db: rate-limit counters start from zero

    ids = {"BENCH_ACCOUNT_ID": seeded.account_id, "BENCH_USER_ID": seeded.user_id}
    os.environ.update(ids)
    selected = [n for n in (args.only.split(",") if args.only else scenarios.SCENARIOS) if n]
    runners = list(dict.fromkeys(scenarios.SCENARIOS[n] for n in selected))
    if args.profile:
        from .profile import profile

        ctx = scenarios.Context(port=0, seeded=seeded, rounds=0, seconds=0, connections=0, quick=True, stub=stub)
        print(profile(ctx, args.profile, method=args.method, body=args.body, count=args.count,
                      show_all=args.show_all))
        return 0
    rows = []
    with gunicorn(ids) as port:
        ctx = scenarios.Context(port=port, seeded=seeded, rounds=args.rounds or (2 if args.quick else 8),
                                seconds=args.seconds or (2 if args.quick else 5), connections=args.connections,
                                quick=args.quick, stub=stub, providers=providers)
        for runner in runners:
            log(f"scenario {runner.__name__}")
            rows += runner(ctx)
    stub.stop()

    result = {"mode": "quick" if args.quick else "full", "finished_at": datetime.now(timezone.utc).isoformat(),
              "revision": revision(),
              "machine": machine(), "seed": asdict(size), "rounds": ctx.rounds, "seconds_per_run": ctx.seconds,
              "connections": ctx.connections, "gunicorn_workers": 2, "rows": rows, "notes": ctx.notes}
    print(report.table(rows, ctx.notes))
    path = report.write(result, RESULTS)
    log(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
