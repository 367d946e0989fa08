"""TSKR_DB_PREPARED_STATEMENTS: server-side binding, and psycopg preparing a statement once a connection
has run it 5 times, so the hot paths are not planned again (tskr/settings.py)."""
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Account


def _database_options(**env) -> dict:
    """The database OPTIONS the settings build from the environment `env` (in a process of its own)."""
    probe = ("import json; from django.conf import settings; "
             "print(json.dumps(settings.DATABASES['default']['OPTIONS']))")
    inherited = {name: value for name, value in os.environ.items() if name != "TSKR_DB_PREPARED_STATEMENTS"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=settings.BASE_DIR, capture_output=True, text=True,
                            env={**inherited, "DJANGO_SETTINGS_MODULE": "tskr.settings", **env}, timeout=60,
                            check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_binds_on_the_server_and_prepares_by_default():
    options = _database_options(DATABASE_URL="postgres://u@127.0.0.1:5432/db")
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_prepared_statements_can_be_switched_off_for_a_pooler():
    options = _database_options(DATABASE_URL="postgres://u@127.0.0.1:5432/db", TSKR_DB_PREPARED_STATEMENTS="false")
    assert "server_side_binding" not in options and "prepare_threshold" not in options


def test_sqlite_has_no_such_options():
    options = _database_options(DATABASE_URL="sqlite:///x.sqlite3")
    assert "server_side_binding" not in options


@pytest.mark.django_db
def test_a_statement_run_five_times_is_prepared_and_its_results_stay_right():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    accounts = [Account.objects.create(name=f"Prepared {i}") for i in range(7)]

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                           ['SELECT "accounts_account"."created_at"%WHERE "accounts_account"."id" = $1%'])
            return cursor.fetchone()[0]

    names = []
    for account in accounts:
        names.append(Account.objects.get(id=account.id).name)
        if len(names) == 4:
            assert prepared() == 0
    assert prepared() == 1
    assert names == [f"Prepared {i}" for i in range(7)]
