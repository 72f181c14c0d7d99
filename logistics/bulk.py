"""Inserting many rows of one table in as few statements as the database takes, without a model instance per
row: what routing's batches write (consignments, their first events, legs). ``bulk_create`` builds an
instance and compiles every value through the ORM, and splits by SQLite's old 999-parameter limit; for
routing that was a third of the CPU of a batch."""

from typing import Any

from django.db import connection
from django.db.models import Model

# Parameters per statement: SQLite (3.32+) takes 32,766, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


def rows_insert(
    *, model: type[Model], names: list[str], rows: list[tuple[Any, ...]], returning: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values of the concrete fields ``names``, in that order; no defaults or ``auto_now``
    filled in: give every value). With ``returning`` (column names), one multi-row ``INSERT … RETURNING``
    per 30,000 parameters, and the rows it returns; without, one ``executemany``."""
    if not rows:
        return []
    concrete = {f.name: f for f in model._meta.concrete_fields}
    fields = [concrete[name] for name in names]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    into = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608  (names, not input)
    one = f"({', '.join(['%s'] * len(fields))})"
    preps = [f.get_db_prep_save for f in fields]
    prepared: dict[
        tuple[int, type, Any], Any
    ] = {}  # most columns repeat a few values (the day, the time, "")

    def prep(column: int, value: Any) -> Any:  # noqa: ANN401  (a column's value, whatever its field)
        if isinstance(value, list | dict):  # JSON: unhashable, and never the same twice
            return preps[column](value, connection)
        key = (column, type(value), value)
        if key not in prepared:
            prepared[key] = preps[column](value, connection)
        return prepared[key]

    values = [[prep(column, value) for column, value in enumerate(row)] for row in rows]
    with connection.cursor() as cursor:
        if not returning:
            cursor.executemany(into + one, values)
            return []
        found: list[tuple[Any, ...]] = []
        per_statement = max(MAX_PARAMETERS // len(fields), 1)
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            sql = (
                into + ", ".join([one] * len(chunk)) + f" RETURNING {', '.join(quote(c) for c in returning)}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            found += cursor.fetchall()
        return found
