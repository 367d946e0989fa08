import time

from django.core.management.base import BaseCommand

from accounts.delivery import delivery_attempt, webhooks_sweep

from ._output import emit


class Command(BaseCommand):
    help = ("Deliver due webhook deliveries (retries, and anything no worker took) in this process: one pass, "
            "or with --loop until stopped. The embedded default's retry runner; with Celery, beat runs the sweep.")

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep sweeping, every --interval seconds")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        while True:
            result = webhooks_sweep(deliver=lambda delivery_id, account_id: delivery_attempt(
                delivery_id=delivery_id, account_id=account_id))
            emit(self, result, f"dispatched {result['dispatched']} events, attempted {result['delivered']} "
                               f"deliveries, expired {result['expired']} events", options["json"])
            if not options["loop"]:
                return
            time.sleep(options["interval"])
