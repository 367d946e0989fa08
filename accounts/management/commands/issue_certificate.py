import os

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from accounts.services import certificate_issue

from ._output import emit


def write_private_key(path: str, pem: str) -> None:
    """Create the file with mode 0600 from the first byte (never world-readable, even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)


class Command(BaseCommand):
    help = "Generate an RSA key pair for an account: store the public key, write the private key (PKCS#8 PEM)."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account id (acc_...)")
        parser.add_argument("--out", help="Where to write the private key (default: <kid>.pem)")
        parser.add_argument("--name", default="", help="A label for the certificate")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        account = Account.objects.filter(id=options["account"]).first()
        if account is None:
            raise CommandError(f"No account {options['account']}")
        certificate, private_pem = certificate_issue(account=account, name=options["name"])
        path = options["out"] or f"{certificate.kid}.pem"
        write_private_key(path, private_pem)
        emit(self, {"kid": certificate.kid, "accountId": account.id, "privateKeyPath": os.path.abspath(path)},
             certificate.kid, options["json"])
