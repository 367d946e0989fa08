"""The one JSON parser: strict about strings no database can store."""
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _find_unstorable(value, path="") -> str | None:
    """The path of the first string holding a NUL character or a lone UTF-16 surrogate, if any."""
    if isinstance(value, str):
        if "\x00" in value:
            return path or "body"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_unstorable(key, path) or _find_unstorable(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_unstorable(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    """JSON bodies whose strings hold NUL characters or lone surrogates are refused with 400, and so
    are bodies nested too deeply to decode (400 `invalid_json`).

    Both are valid JSON escapes, but PostgreSQL cannot store them in text or jsonb columns, so they
    would otherwise surface as a database error deep inside a write.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            where = _find_unstorable(data)
        except RecursionError:
            # Nesting near the interpreter's recursion limit (~1000 levels) cannot be decoded or walked.
            error = ParseError("Request body nested too deeply to decode")
            error.error_code = "invalid_json"
            raise error from None
        if where:
            error = ParseError(f"{where}: strings may not contain NUL characters or unpaired surrogates")
            error.error_code = "unsupported_characters"
            raise error
        return data
