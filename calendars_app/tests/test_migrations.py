"""The occurrences migration: events synced before it keep their rows and take the `cev_` prefix."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = [("calendars_app", "0001_initial")], [("calendars_app", "0002_occurrences")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _every_app_migrated_after():
    """Going back to calendars_app 0001 also unapplies the apps' migrations that depend on it (tasks_app's
    meetings); the tests after this module need the whole schema again."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_event_ids_move_from_evt_to_cev(alice):
    old = _migrate(BEFORE)
    try:
        calendar = old.get_model("calendars_app", "Calendar").objects.create(
            account_id=alice.account.id, platform="google", reference_id="alice@acme.test")
        old.get_model("calendars_app", "CalendarEvent").objects.create(
            id="evt_01ABCDEFGHJKMNPQRSTVWXYZ0", calendar_id=calendar.id, provider_id="p")
    finally:
        new = _migrate(AFTER)
    event = new.get_model("calendars_app", "CalendarEvent").objects.get()
    assert (event.id, event.response_status, event.title) == ("cev_01ABCDEFGHJKMNPQRSTVWXYZ0", "accepted", "")
