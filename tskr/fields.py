"""Serializer fields shared by every app."""
import zoneinfo

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


class JSONObjectField(serializers.JSONField):
    """A JSON object (dict); arrays and scalars are refused."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object")
        return value


class StringListField(serializers.ListField):
    """A list of non-empty strings (tags, airline codes...)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
