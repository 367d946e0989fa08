import os
from pathlib import Path

from django.core.management.base import BaseCommand

from accounts.models import Account, Assistant, Certificate
from accounts.services import account_create, assistant_create, certificate_issue
from accounts.tokens import mint_token

from ._output import emit
from .issue_certificate import write_private_key

DEMO_ACCOUNT = "TSKR Demo"


class Command(BaseCommand):
    help = "Create (once) a demo account, certificate and assistant, and print a curl with a fresh token."

    def add_arguments(self, parser):
        parser.add_argument("--key-dir", default=".demo", help="Where the demo private key is kept")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        key_dir = Path(options["key_dir"])
        key_dir.mkdir(mode=0o700, exist_ok=True)
        account = Account.objects.filter(name=DEMO_ACCOUNT).first() or account_create(name=DEMO_ACCOUNT)
        certificate = Certificate.objects.filter(account=account, status=Certificate.Status.ACTIVE).first()
        key_path = key_dir / f"{certificate.kid}.pem" if certificate else None
        if certificate is None or not key_path.exists():
            certificate, private_pem = certificate_issue(account=account, name="demo")
            key_path = key_dir / f"{certificate.kid}.pem"
            write_private_key(str(key_path), private_pem)
        assistant = Assistant.objects.filter(account=account).first() or assistant_create(
            account=account, name="Ava", email="ava@demo.tskr.local", personality="Warm, concise and organised",
            signature="Best,\nAva", writing_style={"professionalism": 7, "humor": 3, "emojiUse": 1})
        token = mint_token(kid=certificate.kid, private_key_pem=key_path.read_text(), email="demo@example.com",
                           first_name="Demo", last_name="User")
        curl = f"curl -s -H 'Authorization: Bearer {token}' {options['base_url']}/assistants"
        emit(self, {"accountId": account.id, "kid": certificate.kid, "privateKeyPath": os.path.abspath(key_path),
                    "assistantId": assistant.id, "token": token, "curl": curl},
             "\n".join([f"Account:     {account.id}", f"Certificate: {certificate.kid} (key: {key_path})",
                        f"Assistant:   {assistant.id} <{assistant.email}>", "", "Try it (token valid 1 hour):",
                        curl, ""]), options["json"])
