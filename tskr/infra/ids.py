"""Public IDs: `<prefix>_<26 chars>`, time-sortable and unguessable.

The 26 characters are Crockford base32 of 48 bits of milliseconds since the epoch followed by
80 random bits (the ULID layout), so IDs sort by creation time and cannot be enumerated.
"""
import hashlib
import secrets
import time

from django.db import models
from django.utils.deconstruct import deconstructible

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def derived_id(prefix: str, key: str) -> str:
    """A public ID computed from `key` (its SHA-256): the same key always names the same row.

    For the side effects of work that may run twice (a retried agent step, a re-fired scheduled action):
    the second insert finds the first row instead of writing another. Not time-sortable, unlike `new_id`.
    """
    value = int.from_bytes(hashlib.sha256(key.encode()).digest()[:17], "big") >> 6  # 130 bits -> 26 chars
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


@deconstructible
class IdGenerator:
    def __init__(self, prefix: str):
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def __eq__(self, other):
        return isinstance(other, IdGenerator) and other.prefix == self.prefix


def PublicIdField(prefix: str) -> models.CharField:
    """Primary key holding the public ID; there is no sequential integer behind it."""
    return models.CharField(primary_key=True, max_length=40, default=IdGenerator(prefix), editable=False)
