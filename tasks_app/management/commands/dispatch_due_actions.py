import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from tasks_app.schedule import actions_dispatch_due


class Command(BaseCommand):
    help = ("Fire the scheduled actions (reminders, follow-ups) that fell due, in this process: every "
            "TSKR_DISPATCH_INTERVAL_SECONDS until stopped, or one pass with --once. The embedded default's "
            "dispatcher; with Celery, beat runs the same pass.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit")
        parser.add_argument("--json", action="store_true", help="Each pass's outcome counts as one JSON object")

    def handle(self, *args, **options):
        while True:
            counts = actions_dispatch_due()
            if options["json"]:
                self.stdout.write(json.dumps(counts))
            elif counts or options["once"]:
                summary = ", ".join(f"{outcome} {number}" for outcome, number in sorted(counts.items()))
                self.stdout.write(summary or "nothing due")
            if options["once"]:
                return
            time.sleep(settings.TSKR_DISPATCH_INTERVAL_SECONDS)
