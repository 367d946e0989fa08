import signal
import sys

from django.core.management.base import BaseCommand

from accounts.delivery import webhooks_dispatch_forever, webhooks_sweep

from ._output import emit


def _summary(result: dict) -> str:
    return (f"dispatched {result['dispatched']} events, attempted {result['delivered']} deliveries, "
            f"expired {result['expired']} events")


class Command(BaseCommand):
    help = ("Deliver webhooks in this process. One pass: dispatch events, attempt every due delivery (retries, "
            "and anything a dead dispatcher held), expire old events. With --loop, the dispatcher: a pass as soon "
            "as a commit wakes it through Redis, and at least every --interval seconds.")

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep going: the dispatcher, until stopped")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between sweeps with --loop")
        parser.add_argument("--threads", type=int, default=8, help="Attempts made at once with --loop")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        if not options["loop"]:
            result = webhooks_sweep()
            emit(self, result, _summary(result), options["json"])
            return
        # SIGTERM ends the loop like Ctrl-C: the attempts already running finish and are recorded.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(f"webhook dispatcher ready ({options['threads']} threads)")
        webhooks_dispatch_forever(threads=max(1, options["threads"]), interval=max(0.1, options["interval"]),
                                  report=lambda result: emit(self, result, _summary(result), options["json"]))
