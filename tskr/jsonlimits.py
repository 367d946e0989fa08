"""Bounds on the free-form JSON a client may store: `metadata` objects, template contexts, file entries.

Free-form values are stored as given and returned in every list item, so one oversized value is paid
for on every read of it by every teammate (25 chats of 4.9 MB metadata made one list page 122 MB).
Nesting is bounded too: past a few hundred levels the JSON encoders and decoders recurse out of stack.
"""
import json

import orjson
from django.conf import settings

from .exceptions import ValidationFailed

#: Deepest nesting of a free-form value; the object itself is level 1.
MAX_JSON_DEPTH = 32


def json_depth_exceeds(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` nests objects and arrays deeper than `limit` levels (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def json_limit_problem(value) -> str | None:
    """What is wrong with a free-form value (too deep, too large once serialized), or None."""
    if json_depth_exceeds(value):
        return f"Nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:  # integers past 64 bits: the standard library encodes them
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > settings.TSKR_MAX_METADATA_BYTES:
        return f"Larger than {settings.TSKR_MAX_METADATA_BYTES} bytes once serialized ({size})"
    return None


def ensure_json_within_limits(value, *, field: str) -> None:
    """The 400 `validation_error` for a value a service built (e.g. metadata merged into what is stored)."""
    problem = json_limit_problem(value)
    if problem:
        raise ValidationFailed(f"{field}: {problem}", details={field: [problem]})
