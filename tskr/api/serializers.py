from rest_framework import serializers
from rest_framework.settings import api_settings

_DRF_INVALID_CHOICE = serializers.ChoiceField.default_error_messages["invalid_choice"]


def name_allowed_choices(fields) -> None:
    """Every choice field among `fields` (nested serializers and list items included) whose refusal
    would read DRF's bare '"x" is not a valid choice.' names the allowed values instead. Messages a
    field declares itself are kept."""
    for field in fields:
        if isinstance(field, serializers.ChoiceField):
            if field.error_messages.get("invalid_choice") == _DRF_INVALID_CHOICE:
                allowed = ", ".join(str(choice) for choice in field.choices)
                field.error_messages["invalid_choice"] = f'"{{input}}" is not allowed; use one of: {allowed}'
        elif isinstance(field, (serializers.ListField, serializers.DictField, serializers.ListSerializer)):
            name_allowed_choices([field.child])
        elif isinstance(field, serializers.Serializer):
            name_allowed_choices(field.fields.values())


def validation_errors(step) -> tuple[object, dict]:
    """(what `step()` returns, {}) or (None, its field errors): lets a serializer run each of its
    checks and report every problem of an object at once, not the first check's only."""
    try:
        return step(), {}
    except serializers.ValidationError as exc:
        detail = exc.detail
        return None, dict(detail) if isinstance(detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: detail}


class NamedChoicesSerializer(serializers.Serializer):
    """A serializer whose enum refusals name the allowed values (`name_allowed_choices`)."""

    def get_fields(self):
        fields = super().get_fields()
        name_allowed_choices(fields.values())
        return fields


class StrictKeysSerializer(NamedChoicesSerializer):
    """Unknown keys are refused, each named with the keys that are allowed, together with the known
    keys' own problems."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        value, errors = validation_errors(lambda: super(StrictKeysSerializer, self).to_internal_value(data))
        errors.update({key: [f"Unknown key; allowed: {', '.join(self.fields)}"] for key in unknown})
        if errors:
            raise serializers.ValidationError(errors)
        return value


def _refuse_non_strings(serializer: serializers.Serializer, data) -> None:
    """DRF's CharField quietly turns 42 into "42"; our schema says string, so a number is refused."""
    if not isinstance(data, dict):
        return
    errors = {}
    for name, field in serializer.fields.items():
        value = data.get(field.field_name, serializers.empty)
        if field.read_only:
            continue
        if isinstance(field, serializers.CharField) and isinstance(value, (int, float)):
            errors[name] = ["Not a valid string."]
        elif (isinstance(field, serializers.ListField) and isinstance(field.child, serializers.CharField)
              and isinstance(value, list)):
            bad = {index: ["Not a valid string."] for index, item in enumerate(value) if isinstance(item, (int, float))}
            if bad:
                errors[name] = bad
        elif isinstance(field, serializers.Serializer) and not isinstance(field, serializers.ListSerializer):
            try:
                _refuse_non_strings(field, value)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
    if errors:
        raise serializers.ValidationError(errors)


class InputSerializer(NamedChoicesSerializer):
    """Base for request bodies: `validated(data)` returns clean data or raises the 400 envelope.

    Strings are strict: a JSON number where the schema says string is a 400, not silently converted.
    Every field's problem is reported at once, and an enum's refusal names the allowed values.
    """

    def to_internal_value(self, data):
        _, errors = validation_errors(lambda: _refuse_non_strings(self, data))
        value, field_errors = validation_errors(lambda: super(InputSerializer, self).to_internal_value(data))
        errors = {**field_errors, **errors}
        if errors:
            raise serializers.ValidationError(errors)
        return value

    @classmethod
    def validated(cls, data, **context) -> dict:
        serializer = cls(data=data, context=context)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class DeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    message = serializers.CharField()
