from rest_framework import serializers


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


class InputSerializer(serializers.Serializer):
    """Base for request bodies: `validated(data)` returns clean data or raises the 400 envelope.

    Strings are strict: a JSON number where the schema says string is a 400, not silently converted.
    """

    def to_internal_value(self, data):
        _refuse_non_strings(self, data)
        return super().to_internal_value(data)

    @classmethod
    def validated(cls, data, **context) -> dict:
        serializer = cls(data=data, context=context)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class DeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    message = serializers.CharField()
