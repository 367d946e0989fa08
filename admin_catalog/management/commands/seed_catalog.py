import json

from django.core.management.base import BaseCommand

from admin_catalog.services import catalog_seed


class Command(BaseCommand):
    help = ("Install the built-in catalog: the scheduling, reminders, followups and travel skills in one category, "
            "a task template each and a default agent. Safe to run again: existing rows are left as they are.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the created/unchanged counts as JSON")

    def handle(self, *args, **options):
        counts = catalog_seed()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        for kind, count in counts.items():
            self.stdout.write(f"{kind}: {count['created']} created, {count['unchanged']} unchanged")
