"""Filters on JSON arrays of strings (tags, additional emails) that work on both databases.

PostgreSQL uses the jsonb operators its GIN indexes serve (`@>` containment, `?|` any element);
SQLite has no such operators, so there the same question is asked with `json_each`.
"""
from django.db import connection
from django.db.models import BooleanField, Model, Q
from django.db.models.expressions import RawSQL


def _sqlite_has_element(model: type[Model], field: str, values: list[str]) -> RawSQL:
    column = f'"{model._meta.db_table}"."{model._meta.get_field(field).column}"'
    placeholders = ", ".join(["%s"] * len(values))
    return RawSQL(f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value IN ({placeholders}))",
                  list(values), output_field=BooleanField())


def json_array_contains_all(model: type[Model], field: str, values: list[str]) -> Q:
    """Rows whose array `field` holds every one of `values`."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": list(values)})
    condition = Q()
    for value in values:
        condition &= Q(_sqlite_has_element(model, field, [value]))
    return condition


def json_array_contains_any(model: type[Model], field: str, values: list[str]) -> Q:
    """Rows whose array `field` holds at least one of `values` (none when `values` is empty)."""
    if not values:
        return Q(pk__in=[])
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__has_any_keys": list(values)})
    return Q(_sqlite_has_element(model, field, values))
