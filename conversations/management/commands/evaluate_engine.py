"""`manage.py evaluate_engine`: the labelled set through the API on a throwaway database, figures per decision."""
import json
import logging
import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import (
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

from conversations.evaluation import DEFAULT_SET, EvaluationReport, evaluate, load_cases
from conversations.evaluation.cases import CaseError
from tskr.celery import app as celery_app


class Command(BaseCommand):
    help = ("Run the labelled evaluation set through the HTTP API on a throwaway database and print the "
            "accuracy of each decision and the failing cases; exit 1 when a decision is below --min-accuracy.")

    def add_arguments(self, parser):
        parser.add_argument("--engine", choices=["local", "anthropic"], default=None,
                            help="Engine to evaluate (default: TSKR_AI_ENGINE)")
        parser.add_argument("--set", dest="path", default=str(DEFAULT_SET), help="JSONL file of labelled cases")
        parser.add_argument("--min-accuracy", type=float, default=0.9,
                            help="Fail (exit 1) when any decision's accuracy is below this (0-1)")
        parser.add_argument("--json", action="store_true", help="Print the report as one JSON object")

    def handle(self, *args, **options):
        if not 0 <= options["min_accuracy"] <= 1:
            raise CommandError("--min-accuracy must be between 0 and 1")
        try:
            cases = load_cases(options["path"])
        except (OSError, CaseError) as exc:
            raise CommandError(str(exc)) from exc
        from django.conf import settings

        engine = options["engine"] or settings.TSKR_AI_ENGINE
        if engine == "anthropic" and not settings.ANTHROPIC_API_KEY:
            raise CommandError("ANTHROPIC_API_KEY is not set: the anthropic engine cannot run")
        report = self._run(cases, engine=engine)
        self.stdout.write(json.dumps(report.body()) if options["json"] else format_report(report))
        if below := report.below(options["min_accuracy"]):
            raise CommandError(f"below {options['min_accuracy']:.0%}: {', '.join(below)}", returncode=1)

    def _run(self, cases, *, engine: str) -> EvaluationReport:
        """The cases on a database of their own, created and dropped here as the test runner does (a
        name of its own on PostgreSQL, so a test run on the same server is not disturbed), with Celery
        eager: nothing of the run reaches a worker or outlives it."""
        if connection.vendor == "postgresql":
            connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}),
                                                "NAME": f"{connection.settings_dict['NAME']}_evaluation_{os.getpid()}"}
        setup_test_environment()
        databases = setup_databases(verbosity=0, interactive=False)
        eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
        # each eager task logs a line; the run's output is the report
        task_log = logging.getLogger("celery.app.trace")
        level, task_log.level = task_log.level, logging.WARNING
        try:
            with override_settings(TSKR_AI_ENGINE=engine):
                return evaluate(cases, engine=engine)
        finally:
            celery_app.conf.task_always_eager = eager
            task_log.setLevel(level)
            teardown_databases(databases, verbosity=0)
            teardown_test_environment()


def format_report(report: EvaluationReport) -> str:
    """The figures per decision, the open-task cases apart, then every miss."""
    lines = [f"Engine {report.engine}: {report.cases} cases", "", f"{'decision':<12} {'accuracy':>8}  right/judged"]
    for decision in report.judged:
        lines.append(f"{decision:<12} {report.accuracy(decision):>8.1%}  {report.right[decision]}/"
                     f"{report.judged[decision]}")
    failed = report.failed_cases()
    open_failed = [case_id for case_id in report.open_task_cases if case_id in failed]
    lines += ["", f"Follow-ups to open tasks: {len(report.open_task_cases) - len(open_failed)}/"
                  f"{len(report.open_task_cases)} cases right"
                  + (f" (failing: {', '.join(open_failed)})" if open_failed else "")]
    lines += ["", f"Failing cases: {len(failed)}"]
    for miss in report.misses:
        lines.append(f"  {miss.case_id}: {miss.decision} expected {_short(miss.expected)}, got {_short(miss.actual)}")
    for case_id, error in report.errors.items():
        lines.append(f"  {case_id}: {error}")
    return "\n".join(lines) + "\n"


def _short(value, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
