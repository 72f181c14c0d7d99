"""Inserting many rows of one table in as few statements as the database takes, without a model instance per
row: what routing's batches write (consignments, their first events, legs). ``bulk_create`` builds an
instance and compiles every value through the ORM, and splits by SQLite's old 999-parameter limit; for
routing that was a third of the CPU of a batch. On PostgreSQL the rows go through ``COPY … FROM STDIN``
(the primary keys taken from the table's sequence first when they are wanted back): a multi-row ``INSERT``
of 1,500 legs is a statement of 16,000 values that the server parses and plans, and ``executemany`` one
statement per row; ``COPY`` is neither, and took a batch's inserts from ~150 ms to ~50 ms."""

import time
from typing import Any

from django.db import connection
from django.db.models import Field, Model

# Parameters per statement: SQLite (3.32+) takes 32,766, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


def rows_insert(
    *, model: type[Model], names: list[str], rows: list[tuple[Any, ...]], returning: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values of the concrete fields ``names``, in that order; no defaults or ``auto_now``
    filled in: give every value) and return, with ``returning`` (column names: the primary key's or those
    of ``names``), those columns of each row in the order of ``rows``. On PostgreSQL one ``COPY`` (after
    one query for the primary keys when they are wanted); elsewhere one multi-row ``INSERT … RETURNING``
    per 30,000 parameters, or one ``executemany`` when nothing is wanted back."""
    if not rows:
        return []
    concrete = {f.name: f for f in model._meta.concrete_fields}
    fields = [concrete[name] for name in names]
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
    if connection.vendor == "postgresql":
        return _rows_copy(model=model, fields=fields, values=values, returning=returning)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    into = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608  (names, not input)
    one = f"({', '.join(['%s'] * len(fields))})"
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


def _rows_copy(
    *, model: type[Model], fields: list[Field], values: list[list[Any]], returning: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """PostgreSQL: the rows through ``COPY``, their primary keys (if wanted back) taken from the table's
    sequence beforehand, in one query. ``COPY`` bypasses Django's cursor wrapper, so it is logged here as
    the wrapper logs a statement (what ``CaptureQueriesContext`` and the query budgets count)."""
    quote = connection.ops.quote_name
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None  # noqa: S101  (every concrete model has one)
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quote(table), pk.column, len(values)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            fields = [pk, *fields]
            values = [[pk_value, *row] for pk_value, row in zip(ids, values, strict=True)]
        sql = f"COPY {quote(table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
        started = time.monotonic()
        with cursor.cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": f"{sql} ({len(values)} rows)", "time": f"{time.monotonic() - started:.3f}"}
            )
    if not returning:
        return []
    position = {f.column: n for n, f in enumerate(fields)}
    return [tuple(row[position[column]] for column in returning) for row in values]
