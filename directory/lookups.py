"""Filters on JSON arrays of strings (tags, additional emails) that work on both databases.

PostgreSQL uses jsonb operators (`@>` containment, which the GIN indexes serve, and `?|` any key);
SQLite has no such operators, so there the same question is asked with `json_each`.

Long value lists (a bulk import asks about 1000 addresses) travel as one JSON parameter: a
placeholder per value costs more Python in Django's compiler and the driver than the query itself.
"""
import json

from django.db import connection
from django.db.models import BooleanField, Model, Q
from django.db.models.expressions import RawSQL


def _column(model: type[Model], field: str) -> str:
    return f'"{model._meta.db_table}"."{model._meta.get_field(field).column}"'


def _json_elements(values: list[str]) -> tuple[str, list[str]]:
    """A subquery yielding `values` as text, from one JSON parameter: (sql, params)."""
    if connection.vendor == "postgresql":
        return "SELECT jsonb_array_elements_text(%s::jsonb)", [json.dumps(list(values))]
    return "SELECT value FROM json_each(%s)", [json.dumps(list(values))]


def _sqlite_has_element(model: type[Model], field: str, values: list[str]) -> RawSQL:
    elements, params = _json_elements(values)
    return RawSQL(f"EXISTS (SELECT 1 FROM json_each({_column(model, field)}) AS element "
                  f"WHERE element.value IN ({elements}))", params, output_field=BooleanField())


def value_in(model: type[Model], field: str, values: list[str]) -> Q:
    """Rows whose text `field` is one of `values` (as `field__in`, with one parameter however many)."""
    if not values:
        return Q(pk__in=[])
    elements, params = _json_elements(values)
    return Q(RawSQL(f"{_column(model, field)} IN ({elements})", params, output_field=BooleanField()))


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
        # Asked the other way round (is one of the row's elements a key of the values object?): `field ?|
        # values` scans the whole list for every row, and the planner does not pick the GIN index for a
        # long list, whereas a key lookup in a jsonb object is a binary search.
        return Q(RawSQL(f"%s::jsonb ?| ARRAY(SELECT jsonb_array_elements_text({_column(model, field)}))",
                        [json.dumps(dict.fromkeys(values, True))], output_field=BooleanField()))
    return Q(_sqlite_has_element(model, field, values))
