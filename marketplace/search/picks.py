"""A search's first page, kept rather than ranked per page.

Ranking a common word's matches to show 24 grows with the catalogue: 水蜜桃 matches a sixth of it, and at
100,000 products its first page ranked every match (~90 ms on SQLite) and counted them (~40 ms). So the
first page of a search that found something — one product more than a page holds, which tells the
paginator whether more follow — and how many it found are kept in ``SearchPick``, keyed by the query as
searched and the page size; the page reads them in one query. Only searches that fill more than a page are
kept: ranking one page's worth is cheap, and a crawler's made-up queries seldom find that much.

Kept searches are picked again, not left to lag:
- after a change to a product's search tokens (the outbox's reindex), those whose every token the
  product had before or has after (``search_picks_touched``);
- after every catalogue change that moves a list (a product put on or taken off sale, a shop closed, a bulk
  import: ``storefront/lists_moved.py``), those of the searches a page read in the last
  ``SEARCH_PICK_DAYS`` days, the ``SEARCH_PICKS_KEPT`` most recently read, that the change can reach: whose
  every token one of its products has, but for products the same change saved, whose reindex (above) does
  it (``search_picks_refresh``, run with the storefront's kept lists before the catalogue version moves
  on); all of them after a change to everything. The searches not read lately are forgotten and picked
  again by their next page. An index rebuild (``indexing.products_index``) forgets them all.

Like the category's pick, a kept search lags a change by its delivery through the outbox: a product taken
off sale meanwhile is not drawn (``cards`` draws only products on sale), one put on sale appears at the
delivery. A page that does not agree with the kept count counts again (``listing.LazyProductPage``).
"""

import datetime
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from marketplace.search.models import SearchPick, SearchToken
from marketplace.search.selectors import product_search
from marketplace.search.tokens import ParsedQuery, parse_query
from marketplace.storefront.compiled import json_ids

TEXT_MAX_CHARS = 200


@dataclass(frozen=True)
class KeptSearch:
    product_ids: list[int]  # the first page, with one more product when more follow
    count: int  # how many products the search found when it was picked


def _key(query: ParsedQuery, page_size: int) -> str:
    what = json.dumps([query.text, list(query.tokens), list(query.phrases), page_size], ensure_ascii=False)
    return hashlib.sha256(what.encode()).hexdigest()


def _keepable(query: ParsedQuery) -> bool:
    # A query longer than the text column is rare enough that keeping it is not worth a second rule.
    return not query.is_empty and len(query.text) <= TEXT_MAX_CHARS


def _page_size() -> int:
    return int(settings.OSCAR_PRODUCTS_PER_PAGE)


def search_kept(query: ParsedQuery) -> KeptSearch | None:
    """The query's first page and count as kept (one query), or None. A read marks the pick used today
    (one UPDATE, at most once a day per pick, best effort)."""
    if not _keepable(query):
        return None
    key, today = _key(query, _page_size()), timezone.localdate()
    # Written as SQL: it runs on every search page drawn from scratch, where building the ORM query cost
    # more than running it (bench/profile_page.py).
    q = connection.ops.quote_name
    table = q(SearchPick._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('product_ids')}, {q('count')}, {q('used_on')} < %s"  # noqa: S608
            f" FROM {table} WHERE {q('key')} = %s",
            [today, key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    product_ids, count, stale = row
    if stale:
        try:
            with transaction.atomic():
                SearchPick.objects.filter(key=key, used_on__lt=today).update(used_on=today)
        except DatabaseError:
            pass  # a database that refuses the write (read-only, locked) still serves the page
    return KeptSearch(product_ids=json_ids(product_ids), count=int(count))


def _first_page(ranked: QuerySet) -> list[int]:
    return list(ranked.values_list("pk", flat=True)[: _page_size() + 1])


def _pick(query: ParsedQuery, product_ids: list[int], count: int, used_on: datetime.date) -> dict:
    return {
        "text": query.text,
        "tokens": list(query.tokens),
        "product_ids": product_ids,
        "count": count,
        "page_size": _page_size(),
        "used_on": used_on,
    }


def _keep(query: ParsedQuery, product_ids: list[int], count: int, used_on: datetime.date) -> None:
    SearchPick.objects.update_or_create(
        key=_key(query, _page_size()), defaults=_pick(query, product_ids, count, used_on)
    )


def search_keep(query: ParsedQuery, *, ranked: QuerySet, count: int) -> list[int]:
    """The first page of ``ranked`` (``query``'s matches, best first, ``count`` of them), picked now and kept
    best effort: a database that refuses the write leaves it picked for this page only."""
    product_ids = _first_page(ranked)
    # A search that fits on one page ranks a page's worth of rows: cheap, and not worth a row of its own
    # (nor one per query a crawler makes up).
    if _keepable(query) and count > _page_size():
        try:
            # Unless a catalogue change's delivery kept one meanwhile: this page's may be older than it.
            pick = SearchPick(
                key=_key(query, _page_size()), **_pick(query, product_ids, count, timezone.localdate())
            )
            with transaction.atomic():
                SearchPick.objects.bulk_create([pick], ignore_conflicts=True)
        except DatabaseError:
            pass
    return product_ids


def _pick_again(pick: SearchPick, products: QuerySet) -> bool:
    """Rank and count ``pick``'s query again; False (and the pick forgotten) when the query is no longer
    searched as it was kept (the analyser changed, the page size did) or no longer fills a page."""
    query = parse_query(pick.text)
    if _key(query, _page_size()) != pick.key:
        pick.delete()
        return False
    ranked = product_search(query=query, products=products)
    count = ranked.count()
    if count <= _page_size():
        pick.delete()
        return False
    _keep(query, _first_page(ranked), count, pick.used_on)
    return True


def search_picks_refresh(*, products: QuerySet, reached: QuerySet | None = None) -> int:
    """Keep the searches read in the last ``SEARCH_PICK_DAYS`` days, the ``SEARCH_PICKS_KEPT`` most recently
    read, and forget the others; pick again those of them ``reached``'s products can be found by (each
    product's tokens read, then two queries a search picked again), or all of them when ``reached`` is None.
    Returns how many were picked again."""
    since = timezone.localdate() - datetime.timedelta(days=settings.SEARCH_PICK_DAYS)
    kept = list(
        SearchPick.objects.filter(used_on__gte=since).order_by("-used_on", "key")[
            : settings.SEARCH_PICKS_KEPT
        ]
    )
    SearchPick.objects.exclude(key__in=[pick.key for pick in kept]).delete()
    if reached is not None:
        kept = _found_by(kept, reached)
    return sum(_pick_again(pick, products) for pick in kept)


def _found_by(picks: list[SearchPick], products: QuerySet) -> list[SearchPick]:
    """Those of ``picks`` that could list one of ``products``: the product has every token of the search
    (as ``search_picks_touched`` decides for one product's change)."""
    if not picks:
        return []
    tokens: dict[int, set[str]] = {}
    wanted = {token for pick in picks for token in pick.tokens}
    rows = SearchToken.objects.filter(product__in=products.values("pk"), token__in=sorted(wanted))
    for product_id, token in rows.values_list("product_id", "token"):
        tokens.setdefault(product_id, set()).add(token)
    # A search of phrases alone has no tokens: any product may be found by it.
    return [
        pick
        for pick in picks
        if not pick.tokens or any(has.issuperset(pick.tokens) for has in tokens.values())
    ]


def search_picks_touched(*, before: Collection[str], after: Collection[str], products: QuerySet) -> int:
    """Pick again the kept searches a product's change of tokens (``before`` → ``after``) may move: those
    whose every token the product had or has. Returns how many."""
    had, has = set(before), set(after)
    touched = [
        pick
        for pick in SearchPick.objects.only("key", "text", "tokens", "used_on")
        if had.issuperset(pick.tokens) or has.issuperset(pick.tokens)
    ]
    return sum(_pick_again(pick, products) for pick in touched)
