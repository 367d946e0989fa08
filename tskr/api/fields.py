"""Serializer fields shared by every app."""
import zoneinfo

from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..jsonlimits import MAX_JSON_DEPTH, json_limit_problem


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
    """A free-form JSON object (dict); arrays and scalars are refused, and so is one nested deeper than
    `MAX_JSON_DEPTH` levels or larger than TSKR_MAX_METADATA_BYTES serialized (`tskr.jsonlimits`)."""

    def __init__(self, **kwargs):
        help_text = kwargs.get("help_text")
        limits = f"At most {MAX_JSON_DEPTH} levels deep and TSKR_MAX_METADATA_BYTES (default 16 KB) serialized."
        kwargs["help_text"] = f"{help_text}. {limits}" if help_text else limits
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object")
        problem = json_limit_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


@extend_schema_field({"type": "string", "format": "uri", "pattern": "^https?://", "maxLength": 2000})
class HttpURLField(serializers.URLField):
    """An absolute http(s) URL: other schemes (`javascript:`, `data:`, `ftp:`...) are refused, since
    clients render these links."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)
        self.validators = [validator for validator in self.validators if not isinstance(validator, URLValidator)]
        self.validators.append(URLValidator(schemes=["http", "https"], message="Enter an http(s) URL."))


@extend_schema_field({"type": "object", "required": ["url"], "additionalProperties": True,
                     "description": "An attachment: `url` (http or https), and any other keys (`name`, `mimeType`...)",
                     "properties": {"url": {"type": "string", "format": "uri", "pattern": "^https?://",
                                            "maxLength": 2000}}})
class FileEntryField(JSONObjectField):
    """A message attachment: an object whose `url` is an http(s) URL; its other keys (`name`,
    `mimeType`...) are the gateway's, kept as sent."""

    _url = HttpURLField()

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if "url" not in value:
            raise serializers.ValidationError({"url": ["This field is required."]})
        try:
            self._url.run_validation(value["url"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"url": exc.detail}) from None
        return value


class OptionalURLField(serializers.CharField):
    """Output of a URL that may be empty: documented as a plain string (an empty value is not a URI)."""


class StringListField(serializers.ListField):
    """A list of non-empty strings (tags, airline codes...)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
