from django.core.management.base import BaseCommand, CommandError

from accounts.services import certificate_revoke
from tskr.exceptions import NotFound

from ._output import emit


class Command(BaseCommand):
    help = "Revoke a certificate: tokens signed with it stop working within 5 seconds on every server."

    def add_arguments(self, parser):
        parser.add_argument("kid")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        try:
            certificate = certificate_revoke(kid=options["kid"])
        except NotFound as exc:
            raise CommandError(exc.message) from None
        emit(self, {"kid": certificate.kid, "status": certificate.status,
                    "revokedAt": certificate.revoked_at.isoformat()}, f"revoked {certificate.kid}", options["json"])
