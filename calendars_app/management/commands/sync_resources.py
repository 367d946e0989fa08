import json

from django.core.management.base import BaseCommand, CommandError

from calendars_app import services
from calendars_app.models import OAuthAccess
from directory.models import UserIdentifier
from tskr.exceptions import ApplicationError


class Command(BaseCommand):
    help = ("Sync calendars, events and contacts now, in this process: one identifier by id, or --all "
            "identifiers holding an OAuth grant. Prints one JSON line per identifier; exits non-zero when any "
            "identifier did not sync cleanly.")

    def add_arguments(self, parser):
        parser.add_argument("identifier_id", nargs="?")
        parser.add_argument("--all", action="store_true", help="every identifier with an OAuth grant")

    def handle(self, *args, **options):
        if bool(options["identifier_id"]) == bool(options["all"]):
            raise CommandError("give an IDENTIFIER_ID or --all (not both)")
        identifiers = UserIdentifier.objects.select_related("account").order_by("id")
        if options["all"]:
            identifiers = identifiers.filter(id__in=OAuthAccess.objects.values("identifier_id"))
        else:
            identifiers = identifiers.filter(id=options["identifier_id"])
            if not identifiers.exists():
                raise CommandError(f"no identifier {options['identifier_id']}")
        failed = 0
        for identifier in identifiers:
            try:
                result = services.identifier_sync_resources(account=identifier.account, identifier=identifier)
            except ApplicationError as exc:
                failed += 1
                self.stdout.write(json.dumps({"identifierId": identifier.id, "status": "failed",
                                              "errorCode": exc.error_code, "error": exc.message}))
                continue
            failed += bool(result.errors)
            self.stdout.write(json.dumps({"identifierId": identifier.id, "status": "completed", **result.as_dict()}))
        if failed:
            raise CommandError(f"{failed} identifier(s) did not sync cleanly")
