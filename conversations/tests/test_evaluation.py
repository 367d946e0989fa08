"""The labelled evaluation set in CI, and `manage.py evaluate_engine` itself."""
import json
import re
import subprocess
import sys
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from conversations.evaluation import DECISIONS, evaluate, load_cases
from conversations.management.commands.evaluate_engine import format_report
from conversations.models import Message
from tskr.testing import subprocess_env


def test_the_set_covers_every_platform_skill_and_kind_of_case():
    cases = load_cases()
    assert len(cases) >= 150
    platforms = Counter(case.judged["platform"] for case in cases)
    assert set(platforms) == set(Message.Platform.values)
    assert {case.expect.get("skill") for case in cases} == {"scheduling", "reminders", "followups", "travel", None}
    tags = Counter(tag for case in cases for tag in case.tags)
    for kind in ("one-to-one", "group", "ignore", "chatter", "outside", "open-task"):
        assert tags[kind] >= 5, kind


def test_the_local_engine_reaches_90_percent_on_every_decision(db, settings):
    """Every case through the API on the test database: a rule change that costs accuracy fails CI."""
    settings.TSKR_AI_ENGINE = "local"
    report = evaluate(load_cases(), engine="local")
    assert report.below(0.9) == [], format_report(report)
    assert set(report.judged) == set(DECISIONS) and not report.errors


def test_a_malformed_set_is_refused_before_anything_runs(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "timezone": "UTC", "messages": [], "expect": {}}\n')
    with pytest.raises(CommandError, match="bad.jsonl:1: a case needs at least one message"):
        call_command("evaluate_engine", "--set", str(bad))
    with pytest.raises(CommandError, match="--min-accuracy"):
        call_command("evaluate_engine", "--set", str(bad), "--min-accuracy", "90")


def test_the_anthropic_engine_is_refused_without_a_key(settings):
    settings.ANTHROPIC_API_KEY = ""
    with pytest.raises(CommandError, match="ANTHROPIC_API_KEY is not set"):
        call_command("evaluate_engine", "--engine", "anthropic")


@pytest.mark.django_db
def test_the_command_prints_figures_and_misses_and_fails_below_the_minimum(tmp_path):
    """A real run (its own throwaway database): one case right, one labelled wrong on purpose."""
    cases = [
        {"id": "right", "timezone": "Europe/Paris", "messages": [
            {"platform": "sms", "from": "+14155550101", "content": "remind me to call mom tomorrow"}],
         "expect": {"ignore": False, "route": "new", "skill": "reminders", "status": "pending",
                    "recipients": {"to": ["+14155550101"]}, "suppressed": False}},
        {"id": "mislabelled", "timezone": "UTC", "messages": [
            {"platform": "chat", "from": "maya@northwind.test", "content": "lol thanks"}],
         "expect": {"skill": "travel"}},
    ]
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(case) + "\n" for case in cases))
    env = {**subprocess_env(), "TSKR_AI_ENGINE": "local"}
    run = subprocess.run([sys.executable, "manage.py", "evaluate_engine", "--set", str(path)],
                         cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert re.search(r"^skill +50\.0%  1/2$", run.stdout, re.M)
    assert re.search(r"^status +100\.0%  1/1$", run.stdout, re.M)
    assert "mislabelled: skill expected 'travel', got None" in run.stdout
    assert "below 90%: skill" in run.stderr
    as_json = subprocess.run([sys.executable, "manage.py", "evaluate_engine", "--set", str(path), "--json",
                              "--min-accuracy", "0.5"], cwd=django_settings.BASE_DIR, env=env, capture_output=True,
                             text=True, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["decisions"]["skill"] == {"accuracy": 0.5, "right": 1, "judged": 2}
    assert report["misses"] == [{"caseId": "mislabelled", "decision": "skill", "expected": "travel", "actual": None}]
