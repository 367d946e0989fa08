from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import mint_token

from ._output import emit


class Command(BaseCommand):
    help = "Sign a JWT with a private key file, for trying the API with curl."

    def add_arguments(self, parser):
        parser.add_argument("--kid", required=True)
        parser.add_argument("--key", required=True, help="Path to the PKCS#8 private key PEM")
        parser.add_argument("--email", help="Makes a delegated token (user context)")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--ttl", type=int, default=3600, help="Lifetime in seconds (max 86400)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        if not 1 <= options["ttl"] <= 86400:
            raise CommandError("--ttl must be between 1 and 86400 seconds")
        try:
            pem = Path(options["key"]).read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['key']}: {exc.strerror}") from None
        token = mint_token(kid=options["kid"], private_key_pem=pem, email=options["email"],
                           first_name=options["first_name"], last_name=options["last_name"], ttl=options["ttl"])
        emit(self, {"token": token, "kid": options["kid"], "email": options["email"], "ttl": options["ttl"]}, token,
             options["json"])
