"""The queued sync on a real Celery worker process, including a worker killed in the middle of a sync."""
import time

import pytest
from django.conf import settings as django_settings

from calendars_app.models import Calendar, CalendarEvent, UserCalendar
from calendars_app.tasks import sync_identifier_resources
from directory.models import Contact
from tskr.testing import running_celery_worker

from .conftest import connect, seed_google

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(providers, monkeypatch):
    """The worker is another process: it reads the fake's addresses from its environment."""
    for name, value in providers.settings_values().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TSKR_SYNC_LOCK_SECONDS", "2")  # a dead worker's lock blocks the retry 2 s, not 2 min
    for name in ("TSKR_SYNC_EVENTS_PAST_DAYS", "TSKR_SYNC_EVENTS_FUTURE_DAYS"):  # the seeds' fixed dates
        monkeypatch.setenv(name, "3650")
    return providers


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.2)


def _redeliver_unacknowledged() -> None:
    """Kombu's own recovery of messages whose worker died unacknowledged (`restore_visible`), run with a
    zero visibility timeout so the test need not wait the production hour."""
    from tskr.celery import app

    options = {**django_settings.CELERY_BROKER_TRANSPORT_OPTIONS, "visibility_timeout": 0}
    with app.connection_for_write(transport_options=options) as connection:
        connection.default_channel.qos.restore_visible(num=100)


def test_a_queued_sync_runs_on_a_real_worker(alice, worker_env, identifier, settings):
    settings.TSKR_SYNC_MODE = "queue"
    seed_google(worker_env)
    connect(worker_env, identifier)
    with running_celery_worker():
        response = alice.client.post(f"/identifiers/{identifier.id}/sync-resources")
        assert response.json()["syncResources"]["status"] == "queued"
        _wait_for(lambda: Contact.objects.filter(user=identifier.user).count() == 3
                  and Calendar.objects.filter(last_sync_token__startswith="st-").count() == 3)
    assert UserCalendar.objects.filter(identifier=identifier).count() == 3
    assert Calendar.objects.get(reference_id="alice@acme.test").event_count == 3


def test_a_worker_killed_mid_sync_loses_and_duplicates_nothing_on_redelivery(worker_env, identifier):
    fake = worker_env
    fake.google_calendar("alice@acme.test", "Alice Archer", primary=True)
    for n in range(5):
        fake.google_event("alice@acme.test", f"evt{n}", f"2026-03-0{n + 1}T10:00:00Z", f"2026-03-0{n + 1}T11:00:00Z")
    connect(fake, identifier)
    pause = fake.pause_on("/events", nth=2)  # hold the second page of events: the first one is committed

    with running_celery_worker() as first_worker:
        sync_identifier_resources.delay(identifier.id, identifier.account_id)
        assert pause.reached.wait(30), "the worker never reached the second page of events"
        calendar = Calendar.objects.get(reference_id="alice@acme.test")
        assert CalendarEvent.objects.filter(calendar=calendar).count() == 2 and calendar.last_sync_token == ""
        first_worker.kill()
        first_worker.wait()
    pause.release.set()
    calendar_list_requests = fake.count("/calendarList")

    _redeliver_unacknowledged()
    with running_celery_worker():
        _wait_for(lambda: Calendar.objects.filter(id=calendar.id, last_sync_token__startswith="st-").exists())

    assert fake.count("/calendarList") > calendar_list_requests  # the redelivered task ran the sync again
    calendar.refresh_from_db()
    provider_ids = list(CalendarEvent.objects.filter(calendar=calendar).values_list("provider_id", flat=True))
    assert sorted(provider_ids) == [f"evt{n}" for n in range(5)] and calendar.event_count == 5
    assert Calendar.objects.count() == 1 and UserCalendar.objects.filter(identifier=identifier).count() == 1


def test_the_periodic_task_queues_a_sync_of_every_connected_identifier(worker_env, identifier, bob):
    from calendars_app.tasks import sync_all_identifiers

    seed_google(worker_env)
    connect(worker_env, identifier)
    bob_identifier = bob.user.identifiers.get()
    connect(worker_env, bob_identifier)
    with running_celery_worker():
        assert sync_all_identifiers.delay().get(timeout=20) == 2
        _wait_for(lambda: UserCalendar.objects.filter(identifier__in=[identifier, bob_identifier]).count() == 6)
    assert Calendar.objects.count() == 3  # shared calendars are one row each, linked twice
