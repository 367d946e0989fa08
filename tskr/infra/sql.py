"""Hand-written SELECTs for the hottest reads, loaded as the ORM would load them.

Why: building a query through the ORM (resolving lookups and joins, compiling the SQL) costs about as
much as the database's answer on the paths that run a dozen small queries per request (bench/README.md,
scenario 13). Such a path may write its SQL once and turn the rows into model instances here, with
each backend's own converters, so a row read this way is the row the ORM would have loaded
(PostgreSQL and SQLite alike). Only for fixed shapes on measured hot paths; everything else stays ORM.
"""
from collections.abc import Sequence
from functools import cache

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


def insert(instance: Model, *, unless_conflict_on: tuple[str, ...] = ()) -> bool:
    """INSERT `instance` as one statement, as `save()` on a new row writes it (defaults and `auto_now`
    applied by the fields' `pre_save`; no signals: the project has none). With `unless_conflict_on` (the
    columns of a unique constraint), a row already holding those values is left as it is
    (`ON CONFLICT DO NOTHING`, on both engines), with neither a read first nor a savepoint. Whether
    the row was written."""
    fields = instance._meta.concrete_fields
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, type(instance), unless_conflict_on), values)
        written = cursor.rowcount == 1  # 0 when the conflict left the row alone
    instance._state.adding, instance._state.db = not written, connection.alias
    return written


@cache
def _insert_sql(vendor: str, model: type[Model], unless_conflict_on: tuple[str, ...]) -> str:
    fields = model._meta.concrete_fields
    sql = (f"INSERT INTO {table(model)} ({', '.join(quote(field.column) for field in fields)})"
           f" VALUES ({', '.join(['%s'] * len(fields))})")
    if unless_conflict_on:  # SQLite has it since 3.24, below the 3.31 Django requires
        sql += f" ON CONFLICT ({', '.join(map(quote, unless_conflict_on))}) DO NOTHING"
    return sql


def update(instance: Model, names: list[str]) -> None:
    """UPDATE the columns `names` (field names or attnames; `auto_now` ones are refreshed by `pre_save`)
    of `instance`'s row as one statement, as `save(update_fields=...)` does."""
    fields = [instance._meta.get_field(name) for name in names]
    fields += [field for field in instance._meta.concrete_fields if getattr(field, "auto_now", False)
               and field not in fields]
    values = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields]
    sql = (f"UPDATE {table(type(instance))} SET {', '.join(f'{quote(field.column)} = %s' for field in fields)}"
           f" WHERE {quote(instance._meta.pk.column)} = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk])
