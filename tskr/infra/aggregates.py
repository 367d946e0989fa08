"""SQL aggregates the ORM lacks, working on both supported databases.

`PercentileCont` is PostgreSQL's `percentile_cont(p) WITHIN GROUP (ORDER BY x)` (linear interpolation
between the two nearest values). SQLite has no such function: the same computation is registered on
every SQLite connection as the aggregate `tskr_percentile_cont(x, p)`, so a query using it stays one
query on either database.
"""
import math

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField


class PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, percentile: float, **extra):
        if not 0 <= percentile <= 1:
            raise ValueError("percentile must be between 0 and 1")
        super().__init__(expression, percentile=repr(float(percentile)), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="tskr_percentile_cont",
                           template="%(function)s(%(expressions)s, %(percentile)s)", **extra_context)


class _SqlitePercentileCont:
    """The SQLite side of `PercentileCont`: collects the group's values, interpolates as PostgreSQL does."""

    def __init__(self):
        self.values: list[float] = []
        self.percentile = 0.5

    def step(self, value, percentile):
        if value is not None:
            self.values.append(value)
        self.percentile = percentile

    def finalize(self):
        if not self.values:
            return None
        values = sorted(self.values)
        position = self.percentile * (len(values) - 1)
        lower, upper = math.floor(position), math.ceil(position)
        return values[lower] + (values[upper] - values[lower]) * (position - lower)


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("tskr_percentile_cont", 2, _SqlitePercentileCont)


def connect_signals() -> None:
    connection_created.connect(_register_sqlite_functions, dispatch_uid="tskr.infra.aggregates.sqlite_functions")
