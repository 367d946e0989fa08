"""Serializer fields shared by every app."""
import zoneinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class TimezoneField(serializers.CharField):
    """An IANA time zone name such as `America/New_York`; empty string allowed (unset)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise serializers.ValidationError(f"'{value}' is not an IANA time zone name") from None
        return value


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """A JSON object (dict); arrays and scalars are refused."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object")
        return value


class OptionalURLField(serializers.CharField):
    """Output of a URL that may be empty: documented as a plain string (an empty value is not a URI)."""


class StringListField(serializers.ListField):
    """A list of non-empty strings (tags, airline codes...)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
