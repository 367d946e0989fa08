from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """Base for request bodies: `validated(data)` returns clean data or raises the 400 envelope."""

    @classmethod
    def validated(cls, data, **context) -> dict:
        serializer = cls(data=data, context=context)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class DeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    message = serializers.CharField()
