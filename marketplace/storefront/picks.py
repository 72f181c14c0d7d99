"""Lists of product ids kept for the storefront's pages (the season's pick, a category's first page): read
as kept, or picked by the page that finds none and kept for the next one."""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import DatabaseError, transaction


def kept_or_picked(
    kept: Iterable[Any], *, pick: Callable[[], list[int]], keep: Callable[[list[int]], object]
) -> list[int]:
    """The ids ``kept`` holds (the lists of one JSON column, at most one row), else ``pick()``ed now and
    ``keep()``-ed best effort: a database that refuses the write leaves them picked for this page only."""
    for ids in kept:
        return [int(pk) for pk in ids]
    ids = pick()
    try:
        with transaction.atomic():
            keep(ids)
    except DatabaseError:
        pass
    return ids
