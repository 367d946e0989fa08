"""Input shapes the directory's services enforce themselves, because not every caller is the API.

The calendars app feeds provider contacts to `contacts_bulk_import` and writes `platforms`, so the
rules live here and the services apply them; API serializers reuse the same classes.
"""
from rest_framework import serializers

from tskr.exceptions import ValidationFailed, _flatten_details
from tskr.fields import TimezoneField

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


def contact_row_clean(row) -> tuple[dict | None, str | None]:
    """(clean row with lower-cased addresses, None) or (None, one readable error message)."""
    serializer = ContactImportRowSerializer(data=row)
    if not serializer.is_valid():
        field, messages = next(iter(_flatten_details(serializer.errors).items()))
        message = messages[0]
        return None, message if field in {"email", "non_field_errors"} else f"{field}: {message}"
    data = dict(serializer.validated_data)
    data["email"] = data["email"].lower()
    if "emails" in data:
        data["emails"] = unique_emails(data["emails"], exclude=data["email"])
    return data, None


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
