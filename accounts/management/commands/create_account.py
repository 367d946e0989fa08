from django.core.management.base import BaseCommand

from accounts.services import account_create

from ._output import emit


class Command(BaseCommand):
    help = "Create an account and print its id."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--staff", action="store_true", help="The platform operator's own account")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        account = account_create(name=options["name"], staff=options["staff"])
        emit(self, {"id": account.id, "name": account.name, "staff": account.staff}, account.id, options["json"])
