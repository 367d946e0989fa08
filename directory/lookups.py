"""Filters on JSON arrays of strings (tags, additional emails) that work on both databases.

PostgreSQL uses jsonb operators (`@>` containment, which the GIN indexes serve, and `?|` any key);
SQLite has no such operators, so there the same question is asked with `json_each`.

Long value lists (a bulk import asks about 1000 addresses) travel as one JSON parameter: a
placeholder per value costs more Python in Django's compiler and the driver than the query itself.
"""
import json

from django.db import connection
from django.db.models import BooleanField, Expression, F, Q


class _ColumnCondition(Expression):
    """A boolean SQL snippet around one column: `template` holds `{column}` and `%s` placeholders.

    The column is compiled by Django, so it carries the alias of the query it ends up in (a filter
    reused inside a subquery refers to the subquery's table, not the outer one).
    """

    output_field = BooleanField()

    def __init__(self, field: str, template: str, params: list):
        super().__init__()
        self.column, self.template, self.params = F(field), template, params

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        assert not column_params, "a plain column has no parameters"
        return self.template.format(column=column), self.params


def _json_elements() -> str:
    """A subquery yielding the elements of a JSON array parameter as text."""
    if connection.vendor == "postgresql":
        return "SELECT jsonb_array_elements_text(%s::jsonb)"
    return "SELECT value FROM json_each(%s)"


def _sqlite_has_element(field: str, values: list[str]) -> Q:
    return Q(_ColumnCondition(field, "EXISTS (SELECT 1 FROM json_each({column}) AS element "
                                     f"WHERE element.value IN ({_json_elements()}))", [json.dumps(list(values))]))


def value_in(field: str, values: list[str]) -> Q:
    """Rows whose text `field` is one of `values` (as `field__in`, with one parameter however many)."""
    if not values:
        return Q(pk__in=[])
    return Q(_ColumnCondition(field, f"{{column}} IN ({_json_elements()})", [json.dumps(list(values))]))


def json_array_contains_all(field: str, values: list[str]) -> Q:
    """Rows whose array `field` holds every one of `values`."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": list(values)})
    condition = Q()
    for value in values:
        condition &= _sqlite_has_element(field, [value])
    return condition


def json_array_contains_any(field: str, values: list[str]) -> Q:
    """Rows whose array `field` holds at least one of `values` (none when `values` is empty)."""
    if not values:
        return Q(pk__in=[])
    if connection.vendor == "postgresql":
        # Asked the other way round (is one of the row's elements a key of the values object?): `field ?|
        # values` scans the whole list for every row, and the planner does not pick the GIN index for a
        # long list, whereas a key lookup in a jsonb object is a binary search.
        return Q(_ColumnCondition(field, "%s::jsonb ?| ARRAY(SELECT jsonb_array_elements_text({column}))",
                                  [json.dumps(dict.fromkeys(values, True))]))
    return _sqlite_has_element(field, values)
