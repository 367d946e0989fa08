import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from calendars_app.models import Calendar, OAuthAccess, UserCalendar
from directory.models import UserIdentifier

from .conftest import connect, seed_google, seed_graph


def _run(*args) -> list[dict]:
    out = StringIO()
    call_command("sync_resources", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_sync_resources_syncs_one_identifier_by_id(providers, identifier):
    seed_google(providers)
    connect(providers, identifier)
    assert _run(identifier.id) == [{"identifierId": identifier.id, "status": "completed", "calendarsSynced": 3,
                                    "contactsSynced": 3, "errors": []}]
    assert UserCalendar.objects.filter(identifier=identifier).count() == 3


def test_sync_resources_all_covers_every_identifier_with_a_grant(providers, identifier, bob):
    seed_graph(providers)
    connect(providers, identifier, "azure")
    bob_identifier = bob.user.identifiers.get()
    connect(providers, bob_identifier, "azure")
    UserIdentifier.objects.create(account=identifier.account, type="phone", value="+15550100")  # no grant
    lines = _run("--all")
    assert sorted(line["identifierId"] for line in lines) == sorted([identifier.id, bob_identifier.id])
    assert all(line["status"] == "completed" and line["calendarsSynced"] == 3 for line in lines)


def test_sync_resources_fails_loudly_on_bad_arguments_and_failed_syncs(providers, identifier):
    with pytest.raises(CommandError, match="IDENTIFIER_ID or --all"):
        _run()
    with pytest.raises(CommandError, match="no identifier"):
        _run("id_missing")
    with pytest.raises(CommandError, match="did not sync cleanly"):
        _run(identifier.id)  # no grant: oauth_access_missing


def test_rotate_oauth_tokens_reencrypts_with_the_newest_key(providers, identifier, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TSKR_ENCRYPTION_KEYS = [old_key]
    plain = connect(providers, identifier).access_token
    settings.TSKR_ENCRYPTION_KEYS = [new_key, old_key]
    out = StringIO()
    call_command("rotate_oauth_tokens", stdout=out)
    assert "re-encrypted 1 OAuth grant(s)" in out.getvalue()
    settings.TSKR_ENCRYPTION_KEYS = [new_key]
    assert OAuthAccess.objects.get().access_token == plain


def test_the_beat_schedule_resyncs_every_connected_identifier_periodically():
    from tskr.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["calendars-sync-all-identifiers"]
    assert entry["schedule"] == django_settings.TSKR_SYNC_INTERVAL_MINUTES * 60
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert app.conf.beat_schedule["calendars-sync-all-identifiers"]["task"] == "calendars_app.sync_all_identifiers"


def test_calendars_of_deleted_identifiers_are_pruned(identifier, bob):
    from calendars_app.services import calendar_orphans_delete

    from .factories import UserCalendarFactory

    kept = UserCalendarFactory(identifier=bob.user.identifiers.get())
    gone = UserCalendarFactory(identifier=identifier)
    identifier.delete()
    assert calendar_orphans_delete() >= 1
    assert list(Calendar.objects.values_list("id", flat=True)) == [kept.calendar_id]
    assert not Calendar.objects.filter(id=gone.calendar_id).exists()
