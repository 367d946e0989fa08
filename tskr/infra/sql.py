"""Hand-written SELECTs for the hottest reads, loaded as the ORM would load them.

Why: building a query through the ORM (resolving lookups and joins, compiling the SQL) costs about as
much as the database's answer on the paths that run a dozen small queries per request (bench/README.md,
scenario 13). Such a path may write its SQL once and turn the rows into model instances here, with
each backend's own converters, so a row read this way is the row the ORM would have loaded
(PostgreSQL and SQLite alike). Only for fixed shapes on measured hot paths; everything else stays ORM.
"""
from collections.abc import Sequence

from django.db import connection
from django.db.models import Field, Model


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def converters(field: Field, alias: str) -> list:
    """What turns a raw value of `field` (read under the table alias `alias`) into its Python value."""
    column = field.get_col(alias)
    return [(converter, column) for converter in
            connection.ops.get_db_converters(column) + column.get_db_converters(connection)]


def convert(value, found: list):
    for converter, column in found:
        value = converter(value, column, connection)
    return value


class Columns:
    """A model's concrete columns under a table alias in a hand-written SELECT (`sql`), and the
    instance a slice of a row loads (`load`; None for the NULLs of an outer join)."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = model._meta.concrete_fields
        self.names = [field.attname for field in self.fields]
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)
        self.converters = [(index, found) for index, field in enumerate(self.fields)
                           if (found := converters(field, alias))]

    def __len__(self) -> int:
        return len(self.fields)

    def load(self, values: Sequence) -> Model | None:
        if values[0] is None:
            return None
        values = list(values)
        for index, found in self.converters:
            values[index] = convert(values[index], found)
        return self.model.from_db(connection.alias, self.names, values)
