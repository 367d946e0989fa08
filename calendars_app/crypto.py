"""Encryption of OAuth tokens at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from TSKR_ENCRYPTION_KEYS, newest first: the newest encrypts, every key decrypts, so a key
is rotated by prepending a new one and running `manage.py rotate_oauth_tokens`. Development (DEBUG,
no keys configured) derives one key from SECRET_KEY so a fresh checkout works.
"""
import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured("TSKR_ENCRYPTION_KEYS must be url-safe base64 32-byte Fernet keys") from None


def _keys() -> tuple[str, ...]:
    if settings.TSKR_ENCRYPTION_KEYS:
        return tuple(settings.TSKR_ENCRYPTION_KEYS)
    digest = hashlib.sha256(f"tskr-oauth-tokens:{settings.SECRET_KEY}".encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def encrypt(plaintext: str) -> str:
    return _multi_fernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _multi_fernet(_keys()).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("An OAuth token cannot be decrypted with any key in TSKR_ENCRYPTION_KEYS") from None


def reencrypt(ciphertext: str) -> str:
    """The same secret encrypted with the newest key (no-op in meaning, new ciphertext)."""
    return _multi_fernet(_keys()).rotate(ciphertext.encode()).decode()
