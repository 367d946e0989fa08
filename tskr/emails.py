"""The one email normalisation: ASCII letters lower-cased, everything else kept as sent.

`str.lower()` folds some non-ASCII letters into ASCII ones (the Kelvin sign U+212A becomes "k"), so
`x@s\u212aej.com` would become `x@skej.com`: another user's address, or a super admin domain. Only
ASCII is folded; a non-ASCII domain stays a different domain.
"""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def normalize_email(value: str) -> str:
    return value.strip().translate(_ASCII_LOWER)
