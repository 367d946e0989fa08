"""Input shapes the directory's services enforce themselves, because not every caller is the API.

The calendars app feeds provider contacts to `contacts_bulk_import` and writes `platforms`, so the
rules live here and the services apply them; API serializers reuse the same classes.
"""
import functools
import re
import zoneinfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from rest_framework import serializers

from tskr.api.exception_handler import flatten_details
from tskr.api.fields import TimezoneField
from tskr.exceptions import ValidationFailed

#: Platforms an identifier can hold OAuth grants for.
PLATFORMS = ("google", "azure")


def validation_failed(details: dict[str, list[str]]) -> ValidationFailed:
    """The 400 for `details` (field path -> messages), its message naming the first problem."""
    field_path, messages = next(iter(details.items()))
    return ValidationFailed(f"{field_path}: {messages[0]}", details=details)


def ensure_choice(value: str, allowed: list[str], field: str) -> str:
    """`value` if it is one of `allowed`, else a 400 naming the allowed values."""
    if value not in allowed:
        names = ", ".join(allowed)
        raise ValidationFailed(f"{field} must be one of: {names}", details={field: [f"Must be one of: {names}"]})
    return value


class ContactImportRowSerializer(serializers.Serializer):
    """One item of `POST /contacts/bulk-import` (and of a provider sync)."""

    email = serializers.EmailField(max_length=254, help_text="Required; matched case-insensitively")
    name = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                 help_text="Defaults to the email for a new contact")
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    company = serializers.CharField(max_length=300, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    timezone = TimezoneField(required=False)
    emails = serializers.ListField(child=serializers.EmailField(max_length=254), required=False, max_length=50,
                                   help_text="Additional email addresses")

    def to_internal_value(self, data):
        if isinstance(data, dict) and not data.get("email"):
            raise serializers.ValidationError({"email": ["Email is required"]})
        return super().to_internal_value(data)


#: Text fields of an import row and their maximum lengths (as ContactImportRowSerializer declares them).
_ROW_TEXT_FIELDS = {"name": 300, "phone": 64, "company": 300, "title": 300}
_EMAIL_MAX_LENGTH = 254
_EMAILS_MAX_ITEMS = 50
#: Characters DRF's CharField refuses (null and lone surrogates): rows holding them take the slow path.
_REFUSED_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_email_validator = EmailValidator()


@functools.lru_cache(maxsize=4096)
def _is_email(value: str) -> bool:
    try:
        _email_validator(value)
    except DjangoValidationError:
        return False
    return True


def _clean_text(value, max_length: int) -> str | None:
    """`value` stripped when it is a string DRF's CharField would accept unchanged in meaning, else None."""
    if not isinstance(value, str) or _REFUSED_CHARACTERS.search(value):
        return None
    value = value.strip()
    return value if len(value) <= max_length else None


def _clean_email(value) -> str | None:
    value = _clean_text(value, _EMAIL_MAX_LENGTH)
    return value if value and _is_email(value) else None


def _is_timezone(value: str) -> bool:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def row_fast_clean(row) -> dict | None:
    """The row as ContactImportRowSerializer would validate it, or None when anything is unusual.

    A bulk import validates up to 1000 rows and the serializer is the costly part of it, so well-formed
    rows (plain strings within the limits, valid addresses and time zone) are checked here in plain
    Python. This only ever accepts what the serializer accepts, with the same result; every other row
    (wrong types, too long, invalid values) goes through the serializer, which gives the error message.
    """
    if not isinstance(row, dict):
        return None
    email = _clean_email(row.get("email"))
    if email is None:
        return None
    data = {"email": email}
    for name, max_length in _ROW_TEXT_FIELDS.items():
        if name in row:
            data[name] = _clean_text(row[name], max_length)
            if data[name] is None:
                return None
    if "timezone" in row:
        data["timezone"] = _clean_text(row["timezone"], 64)
        if data["timezone"] is None or (data["timezone"] and not _is_timezone(data["timezone"])):
            return None
    if "emails" in row:
        emails = row["emails"]
        if not isinstance(emails, list) or len(emails) > _EMAILS_MAX_ITEMS:
            return None
        data["emails"] = [_clean_email(address) for address in emails]
        if None in data["emails"]:
            return None
    return data


def contact_row_clean(row) -> tuple[dict | None, str | None]:
    """(clean row with lower-cased addresses, None) or (None, one readable error message)."""
    data = row_fast_clean(row)
    if data is None:
        data, error = _row_serializer_clean(row)
        if error:
            return None, error
    data["email"] = data["email"].lower()
    if "emails" in data:
        data["emails"] = unique_emails(data["emails"], exclude=data["email"])
    return data, None


def _row_serializer_clean(row) -> tuple[dict | None, str | None]:
    serializer = ContactImportRowSerializer(data=row)
    if not serializer.is_valid():
        field, messages = next(iter(flatten_details(serializer.errors).items()))
        message = messages[0]
        return None, message if field in {"email", "non_field_errors"} else f"{field}: {message}"
    return dict(serializer.validated_data), None


def unique_emails(emails: list[str], *, exclude: str = "") -> list[str]:
    """Lower-cased, duplicates and `exclude` (the primary address) removed, order kept."""
    seen = {exclude} if exclude else set()
    result = []
    for email in emails:
        email = email.strip().lower()
        if email and email not in seen:
            seen.add(email)
            result.append(email)
    return result


def platforms_errors(platforms) -> dict[str, list[str]]:
    """Problems with a `platforms` value, keyed by field path; empty when it is well formed.

    Shape: `{platform: {"accessGranted": [scope, ...], ...}}` with platform in PLATFORMS; other keys
    inside a platform object are kept (providers attach their own bookkeeping); null removes a platform.
    """
    if not isinstance(platforms, dict):
        return {"platforms": ["Must be an object keyed by platform"]}
    errors: dict[str, list[str]] = {}
    for platform, grant in platforms.items():
        path = f"platforms.{platform}"
        if platform not in PLATFORMS:
            errors[path] = [f"Unknown platform; allowed: {', '.join(PLATFORMS)}"]
        elif grant is None:
            continue
        elif not isinstance(grant, dict):
            errors[path] = ["Must be an object such as {\"accessGranted\": [\"calendars.read\"]}"]
        elif "accessGranted" in grant:
            scopes = grant["accessGranted"]
            if not isinstance(scopes, list) or not all(isinstance(s, str) and s.strip() for s in scopes):
                errors[f"{path}.accessGranted"] = ["Must be a list of non-empty scope strings"]
    return errors
