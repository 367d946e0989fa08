from django.core.management.base import BaseCommand

from calendars_app.services import oauth_tokens_reencrypt


class Command(BaseCommand):
    help = ("Re-encrypt every stored OAuth token with the newest key of TSKR_ENCRYPTION_KEYS. Rotate a key by "
            "prepending a new one, running this, then removing the old one.")

    def handle(self, *args, **options):
        count = oauth_tokens_reencrypt()
        self.stdout.write(f"re-encrypted {count} OAuth grant(s) with the newest key")
