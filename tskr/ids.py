"""Public IDs: `<prefix>_<26 chars>`, time-sortable and unguessable.

The 26 characters are Crockford base32 of 48 bits of milliseconds since the epoch followed by
80 random bits (the ULID layout), so IDs sort by creation time and cannot be enumerated.
"""
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
