"""scripts/test's service start-up: it says why it cannot start, instead of failing obscurely."""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings


def _start_services(tmp_path, *, pg_port: int, redis_port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "TSKR_TEST_PG_PORT": str(pg_port), "TSKR_TEST_REDIS_PORT": str(redis_port),
           "TSKR_TEST_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(["bash", "-c", "source scripts/_lib.sh && start_services"], cwd=settings.BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def taken_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not shutil.which("redis-server"), reason="scripts/test needs its servers installed")
def test_a_port_taken_by_another_process_is_named_before_anything_starts(tmp_path, taken_port):
    result = _start_services(tmp_path, pg_port=taken_port, redis_port=taken_port)
    assert result.returncode == 1
    assert f"port {taken_port} (for pg) is already in use" in result.stderr
    assert "TSKR_TEST_PG_PORT" in result.stderr and "TSKR_TEST_REDIS_PORT" in result.stderr
    assert not (tmp_path / "state" / "pg").exists()  # nothing was initialised


@pytest.fixture
def state_dir_postgres_can_reach():
    """A state directory the postgres user can walk into (pytest's own tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix="tskr-pg-fails-")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("redis-server") or not _has_postgres_user(),
                    reason="lays out a cluster directory owned by the postgres user")
def test_a_postgresql_that_fails_to_start_has_its_log_path_and_last_lines_printed(state_dir_postgres_can_reach):
    cluster = state_dir_postgres_can_reach / "state" / "pg"
    cluster.mkdir(parents=True)
    (cluster / "PG_VERSION").write_text("15\n")  # a cluster without its configuration: postgres refuses it
    postgres = pwd.getpwnam("postgres")
    for path in (cluster, cluster / "PG_VERSION"):
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
    cluster.chmod(0o700)
    result = _start_services(state_dir_postgres_can_reach, pg_port=_free_port(), redis_port=_free_port())
    assert result.returncode == 1
    assert f"its log is {cluster}/server.log" in result.stderr
    assert "postgresql.conf" in result.stderr  # the log's last lines: what postgres said
