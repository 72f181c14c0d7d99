"""Parts of pages drawn once per change of what they show, not once per page: the product page's gallery,
facts, breadcrumbs, description and reviews (for visitors not signed in), the home page's kinds, shops and
places, a category page's head. The product itself is kept with its page's parts (``kept_object_load``
with ``keep``): with its shop, kind, certifications, number of reviews and whether it has purchase
options, read in the parts' one query instead of five (~3 ms of CPU of a page drawn from the database).

They are what a page drawn from the database spent its time on after the product cards were kept
(``cards.py``): the product page's parts cost ~8 of its ~15 ms of CPU, the home page's shops and places ~12 of
~19 ms, most of it building queries and drawing templates whose data had not changed. So each is kept as
HTML per language in the database (``KeptFragment``), under a *scope* and a *key* that say what it is drawn
from: ``product`` and the product's id, or ``home`` and ``page``.

- **Staleness is per scope and key.** A change to what a scope's fragments show calls ``kept_stale`` (or
  ``kept_stale_all`` for every key of a scope) in the change's own transaction: the scope's generation
  (``KeptScope``) moves on, and fragments drawn at an older one are no longer served. A catalogue change
  elsewhere leaves them as they are; a stock change touches none of them (stock is drawn live).
- **No stale fragment is kept by a race.** A page reads the scope's generation with its fragments, before
  the data it draws from; what it draws is stored under that generation. A change that commits in between
  has moved the generation on, so the fragment, drawn from data the change replaced, is never served.
- **The release and the calendar.** A fragment is served only for the release it was drawn by
  (``kept_format``: the project's code, templates and translations, Oscar's and Django's versions) and the
  values it varies on (a month, for "in season").
- **A kept object** is pickled, as Django's database cache keeps its values, and only for a scope whose
  generation moves on with everything the object carries (storefront/receivers.py: the product, its shop,
  kind, certifications, reviews and purchase options). One this release cannot read is loaded again.
- **Keeping is best effort.** A database that refuses the write still gets the page; the next page draws
  it again. ``STOREFRONT_CARD_STORE`` off (the benchmark's "bare" state) draws every fragment every time.

The fragments are drawn with the ``{% kept %}`` tag (``templatetags/storefront_tags.py``).
"""

import base64
import functools
import hashlib
import logging
import pickle
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import django
import oscar
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils.translation import get_language

from marketplace.storefront.models import KeptFragment, KeptScope

logger = logging.getLogger(__name__)

T = TypeVar("T")

EVERY_KEY = "*"  # the scope row that moves every key of its scope on (kept_stale_all)
PRODUCT_SCOPE = "product"  # a product's page: key, the product's id
CATEGORY_SCOPE = "category"  # a category's page head (breadcrumbs, description, kinds below): its id
HOME_SCOPE = "home"  # the home page's kinds, shops and places: one key
HOME_KEY = "page"
# A kept object (kept_object_load(keep=True)): pickled, compressed and in base64 in the fragment's text, as
# Django's database cache keeps its values; one row for every language.
OBJECT_PART = "object"
OBJECT_LANGUAGE = ""
# What the release fingerprint reads: the project's own packages and compiled translations.
RELEASE_PACKAGES = ("marketplace", "shops", "logistics")
RELEASE_SUFFIXES = (".py", ".html", ".txt")


@functools.cache
def kept_format() -> str:
    """A fingerprint of what draws a fragment besides its data: the project's Python, templates and
    compiled translations, and Oscar's and Django's versions. A release that changes any of them draws
    every fragment again once. Read once per process, on its first kept part (~30 ms here)."""
    digest = hashlib.sha256(f"{oscar.get_version()}:{django.get_version()}".encode())
    base = Path(settings.BASE_DIR)
    files = [
        path
        for package in RELEASE_PACKAGES
        for path in (base / package).rglob("*")
        if path.suffix in RELEASE_SUFFIXES and "migrations" not in path.parts
    ]
    files += [path for locale in settings.LOCALE_PATHS for path in Path(locale).glob("*/LC_MESSAGES/*.mo")]
    for path in sorted(files):
        digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class KeptState:
    """A scope's key as a page read it: its generation then, and its fragments drawn at that generation
    (name → (drawn for, HTML))."""

    generation: int
    fragments: dict[str, tuple[str, str]] = field(default_factory=dict)


def kept_read(*, scope: str, key: str, language: str) -> KeptState:
    """The scope's generation and its fragments of that generation in ``language``, with its kept object
    if it has one: one query."""
    scopes, fragments = KeptScope._meta.db_table, KeptFragment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.generation, f.name, f.drawn_for, f.html FROM"  # noqa: S608
            f" (SELECT COALESCE(SUM(generation), 0) AS generation FROM {scopes}"
            "   WHERE scope = %s AND key IN (%s, %s)) g"
            f" LEFT JOIN {fragments} f ON f.scope = %s AND f.key = %s"
            " AND f.language IN (%s, %s) AND f.generation = g.generation",
            [scope, key, EVERY_KEY, scope, key, language, OBJECT_LANGUAGE],
        )
        rows = cursor.fetchall()
    state = KeptState(generation=int(rows[0][0]))
    for _generation, name, drawn_for, html in rows:
        if name is not None:
            state.fragments[name] = (drawn_for, html)
    return state


def kept_state(request: object, *, scope: str, key: str, language: str | None = None) -> KeptState:
    """``kept_read``, once per request (kept on ``request``, which may be None) for all of a page's
    ``{% kept %}`` blocks of one scope and key; in the active language unless one is given."""
    language = language or get_language() or settings.LANGUAGE_CODE
    states: dict[tuple[str, str, str], KeptState] | None = getattr(request, "_kept_states", None)
    if states is None:
        states = {}
        if request is not None:
            request._kept_states = states  # type: ignore[attr-defined]  # a per-request memo
    found = states.get((scope, key, language))
    if found is None:
        found = states[(scope, key, language)] = kept_read(scope=scope, key=key, language=language)
    return found


def kept_object_load(
    request: object, *, scope: str, key: object, load: Callable[[], T], keep: bool = False
) -> T:
    """``load()`` an object a page's kept parts are drawn from, after reading their generation: the object
    carries it (``kept_generation``) for the ``{% kept … drawn_at=object.kept_generation %}`` blocks, so
    what is drawn from it is kept under the generation read before it, even when the object comes from the
    fragment cache later.

    ``keep``: the object itself is kept too (``OBJECT_PART``), for a scope whose generation moves on with
    every change to what the object carries, and read with its parts in their one query instead of loaded.
    """
    key = str(key)
    state = kept_state(request, scope=scope, key=key)
    keep = keep and settings.STOREFRONT_CARD_STORE
    found = cast("T | None", _kept_object(state)) if keep else None
    if found is None:
        found = load()
        if found is not None and keep:
            kept_store(
                scope=scope,
                key=key,
                name=OBJECT_PART,
                language=OBJECT_LANGUAGE,
                generation=state.generation,
                drawn_for=_object_drawn_for(),
                html=base64.b64encode(zlib.compress(pickle.dumps(found, pickle.HIGHEST_PROTOCOL))).decode(),
            )
    if found is not None:
        found.kept_generation = state.generation  # type: ignore[attr-defined]  # travels with the object
    return found


def _object_drawn_for() -> str:
    return f"{kept_format()}:{OBJECT_PART}"  # the release's code reads what its own objects pickled


def _kept_object(state: KeptState) -> object | None:
    """The object kept with ``state``'s parts, if one was kept by this release; None otherwise."""
    kept = state.fragments.get(OBJECT_PART)
    if kept is None or kept[0] != _object_drawn_for():
        return None
    try:
        return pickle.loads(zlib.decompress(base64.b64decode(kept[1])))  # noqa: S301  # written by kept_store only
    except Exception:  # a row this release cannot read is loaded again, not served
        logger.warning("kept object %s unreadable: loaded again", OBJECT_PART, exc_info=True)
        return None


def kept_store(
    *, scope: str, key: str, name: str, language: str, generation: int, drawn_for: str, html: str
) -> None:
    """Keep a fragment drawn at ``generation`` (best effort). A row drawn at a newer generation is left."""
    table = KeptFragment._meta.db_table
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (scope, key, name, language, generation, drawn_for, html)"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (scope, key, name, language) DO UPDATE"
                " SET generation = excluded.generation, drawn_for = excluded.drawn_for, html = excluded.html"
                f" WHERE {table}.generation <= excluded.generation",
                [scope, key, name, language, generation, drawn_for, html],
            )
    except DatabaseError:
        logger.warning("kept fragment %s:%s:%s drawn but not kept", scope, key, name, exc_info=True)


def kept_stale(*, scope: str, keys: "QuerySet | Collection[object]") -> None:
    """In a change's transaction: the fragments of these keys of ``scope`` (a queryset, for its rows'
    primary keys, or the keys) are drawn again by the next page that shows them. One statement."""
    table = KeptScope._meta.db_table
    if isinstance(keys, QuerySet):  # its rows' primary keys
        subquery, query_params = keys.order_by().values("pk").query.sql_with_params()
        model_table = keys.model._meta.db_table
        source = f"SELECT %s, CAST(id AS TEXT), 1 FROM {model_table} WHERE id IN ({subquery})"  # noqa: S608
        params: tuple[Any, ...] = (scope, *query_params)
    else:
        values = sorted({str(key) for key in keys})
        if not values:
            return
        source = f"VALUES {', '.join(['(%s, %s, 1)'] * len(values))}"
        params = tuple(item for value in values for item in (scope, value))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, key, generation) {source}"  # noqa: S608
            f" ON CONFLICT (scope, key) DO UPDATE SET generation = {table}.generation + 1",
            params,
        )


def kept_stale_all(*, scope: str) -> None:
    """In a change's transaction: every fragment of ``scope`` is drawn again (a change that many of its
    keys show, such as a place's or a category's name)."""
    kept_stale(scope=scope, keys=[EVERY_KEY])
