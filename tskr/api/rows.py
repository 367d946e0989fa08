"""The fast list path of an output serializer, derived from its fields: each output shape is declared once.

A list page is read as `.values(*shape.columns)` rows and turned into exactly what the serializer gives
(`Serializer(many=True).data`) by `shape.build(rows)`, without model instances or DRF fields: far
cheaper per row (bench/README.md), and rows are most of a list request. `RowShape` reads the serializer's fields once
(the first time it is used) and compiles the same dict literal a hand-written comprehension would be, so
a field added to the serializer is in the list too, with nothing else to edit.

What a field becomes: a plain field (`CharField`, `ChoiceField`, `IntegerField`, `BooleanField`,
`JSONField`) its column's value; a `DateTimeField` its column in `iso_datetime`; a nested serializer
the same, over its source's columns (`owner__email`), None when it allows null and the related row's
`id` is null; a nested `many=True` serializer the rows the caller passes by the field's name, keyed by
the row's `id` (`shape.build(rows, followers={task id: [rows]})`, each with `related_columns`).
Any other field (a model property, a method field) must be given as `computed={name: function(row)}`;
anything else is refused when the shape is first used, rather than answered differently from the
serializer.
"""
from collections.abc import Callable
from datetime import datetime, timezone as dt_timezone
from functools import cached_property

from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

#: Fields whose representation of a `.values()` value is that value.
PLAIN_FIELDS = (serializers.CharField, serializers.ChoiceField, serializers.IntegerField, serializers.BooleanField,
                serializers.JSONField)


def iso_datetime(value: datetime | None) -> str | None:
    """What `serializers.DateTimeField` outputs (ISO 8601 in UTC, the current time zone, written 'Z'), for list
    rows built without a serializer; without DRF's per-call time zone lookup, which costs more than the rest."""
    if value is None:
        return None
    text = value.astimezone(dt_timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class RowShape:
    """`serializer_class`'s output for `.values(*columns)` rows (see the module docstring)."""

    def __init__(self, serializer_class: type[serializers.Serializer], *,
                 computed: dict[str, Callable[[dict], object]] | None = None,
                 related_prefixes: dict[str, str] | None = None):
        """`related_prefixes`: for a `many=True` field, the prefix of its rows' columns (`"user__"` for
        followers read through the link table); none by default."""
        self.serializer_class = serializer_class
        self.computed = computed or {}
        self.related_prefixes = related_prefixes or {}

    @cached_property
    def _compiled(self) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], Callable]:
        columns: list[str] = []
        related: dict[str, tuple[str, ...]] = {}
        namespace = {"iso_datetime": iso_datetime}
        for name, function in self.computed.items():
            namespace[f"computed_{name}"] = function
        body = self._dict_literal(self.serializer_class(), "row", "", columns, related, namespace, top=True)
        parameters = "".join(f", {name}" for name in related)
        source = f"def build(rows{parameters}):\n    return [{body} for row in rows]\n"
        exec(compile(source, f"<RowShape {self.serializer_class.__name__}>", "exec"), namespace)  # noqa: S102
        return tuple(dict.fromkeys(columns)), related, namespace["build"]

    def _dict_literal(self, serializer, variable: str, prefix: str, columns: list[str],
                      related: dict[str, tuple[str, ...]], namespace: dict, *, top: bool = False) -> str:
        items = []
        for name, field in serializer.fields.items():
            if top and name in self.computed:
                items.append(f"{name!r}: computed_{name}({variable})")
                continue
            column = prefix + field.source
            if isinstance(field, serializers.ListSerializer) and top:
                link_prefix = self.related_prefixes.get(name, "")
                link_columns: list[str] = []
                child = self._dict_literal(field.child, "link", link_prefix, link_columns, {}, namespace)
                related[name] = tuple(dict.fromkeys(link_columns))
                columns.append("id")
                items.append(f"{name!r}: [{child} for link in {name}[{variable}['id']]]")
            elif isinstance(field, serializers.BaseSerializer) and not isinstance(field, serializers.ListSerializer):
                nested = self._dict_literal(field, variable, column + "__", columns, related, namespace)
                if field.allow_null:
                    if "id" not in field.fields:
                        raise ImproperlyConfigured(f"{serializer.__class__.__name__}.{name}: a nullable nested "
                                                   "shape needs an `id` field to tell a missing row")
                    columns.append(f"{column}__id")
                    nested = f"None if {variable}[{column + '__id'!r}] is None else {nested}"
                items.append(f"{name!r}: {nested}")
            elif isinstance(field, serializers.DateTimeField):
                columns.append(column)
                items.append(f"{name!r}: iso_datetime({variable}[{column!r}])")
            elif isinstance(field, PLAIN_FIELDS) and not isinstance(field, serializers.BaseSerializer):
                columns.append(column)
                items.append(f"{name!r}: {variable}[{column!r}]")
            else:
                raise ImproperlyConfigured(
                    f"{serializer.__class__.__name__}.{name} ({field.__class__.__name__}) has no row form: give it "
                    "in RowShape(computed={...})")
        return "{" + ", ".join(items) + "}"

    @property
    def columns(self) -> tuple[str, ...]:
        """The `.values()` columns a list page reads."""
        return self._compiled[0]

    @property
    def related_columns(self) -> dict[str, tuple[str, ...]]:
        """For each `many=True` field, the columns its rows need (with the declared prefix)."""
        return self._compiled[1]

    def build(self, rows, **related) -> list[dict]:
        """`serializer_class(many=True).data` for `rows`; `related` gives each `many=True` field's rows."""
        return self._compiled[2](rows, **related)

    def build_one(self, instance) -> dict:
        """`serializer_class(instance).data` for one model instance, for a shape of the instance's own columns
        (no nested or `many=True` field): a row just written, e.g. the data of its event."""
        return self._compiled[2]([{column: getattr(instance, column) for column in self.columns}])[0]
