"""Hot storefront queries compiled to SQL once per process instead of on every request.

Django compiles a queryset to SQL every time it runs one; for the small queries of a page drawn from scratch
(a shop's first page of ids, a category's kept pick) building and compiling the query cost several times
what running it did (0.7 ms against 0.07 ms on this machine, ``bench/profile_page.py``). ``compiled_rows``
builds the queryset once with a sentinel for its one argument, keeps the SQL, and runs it with the argument
put in its place: the same SQL the ORM would run, written in one place (the queryset), not twice.

The queryset must depend on its argument only (no clock, no settings read per call): the first compile is
made twice, with two sentinels, and a builder whose SQL or other parameters differ between them, or whose
argument does not appear exactly once, is refused.
"""

import json
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

# Negative, and within a 32-bit integer: a value out of a column's range compiles to "no rows" on PostgreSQL.
_SENTINELS = (-1_937_164_829, -1_628_349_517)


class CompiledRows:
    """``build(argument)`` — a ``values_list`` queryset — run as SQL compiled once per database alias."""

    def __init__(self, build: Callable[[int], QuerySet[Any]], *, using: str = "default") -> None:
        self._build = build
        self._using = using
        self._compiled: dict[str, tuple[str, tuple[Any, ...], int]] = {}

    def _compile(self, vendor: str) -> tuple[str, tuple[Any, ...], int]:
        compiled = self._compiled.get(vendor)
        if compiled is not None:
            return compiled
        made = []
        for sentinel in _SENTINELS:
            sql, params = self._build(sentinel).query.get_compiler(using=self._using).as_sql()
            slots = [i for i, param in enumerate(params) if param == sentinel]
            if len(slots) != 1:
                raise ValueError(f"the argument must appear once in the query's parameters: {sql}")
            made.append((sql, tuple(params), slots[0]))
        (sql, params, slot), (other_sql, other_params, other_slot) = made
        same = [p for i, p in enumerate(params) if i != slot] == [
            p for i, p in enumerate(other_params) if i != other_slot
        ]
        if sql != other_sql or slot != other_slot or not same:
            raise ValueError(f"the query must depend on its argument only: {sql}")
        self._compiled[vendor] = (sql, params, slot)
        return self._compiled[vendor]

    def __call__(self, argument: int) -> Sequence[tuple[Any, ...]]:
        connection = connections[self._using]
        sql, params, slot = self._compile(connection.vendor)
        values = list(params)
        values[slot] = int(argument)
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall()


_registry: dict[tuple[str, Hashable], CompiledRows] = {}


def compiled_rows(name: str, shape: Hashable, build: Callable[[int], QuerySet[Any]]) -> CompiledRows:
    """The process's ``CompiledRows`` for ``name`` in this ``shape`` (what else fixes its SQL: a page size),
    made on first use."""
    compiled = _registry.get((name, shape))
    if compiled is None:
        compiled = _registry[(name, shape)] = CompiledRows(build)
    return compiled


M = TypeVar("M", bound=Model)


def rows_where(model: type[M], where: str, params: Sequence[Any], *, order_by: str = "") -> list[M]:
    """``model``'s rows matching ``where`` (SQL over its own columns, named with ``quote_name``) as
    instances, read with ``raw()``: Django's converters apply, no query is compiled (for a page's few
    small reads of a shop, a category and their places: a third of what ``filter().first()`` cost)."""
    q = connections["default"].ops.quote_name
    sql = f"SELECT * FROM {q(model._meta.db_table)} WHERE {where}"  # noqa: S608
    if order_by:
        sql += f" ORDER BY {order_by}"
    return list(model._default_manager.raw(sql, list(params)))


def json_ids(raw: object) -> list[int]:
    """A JSON column of ids as a plain cursor gives it: text on SQLite and through Django's psycopg loader,
    already decoded where a driver decodes JSON itself."""
    ids = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(ids, list):
        raise TypeError(f"not a list of ids: {raw!r}")
    return [int(pk) for pk in ids]
