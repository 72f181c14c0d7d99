"""Product cards drawn once per change, not once per page.

A list page (home, all produce, a category, a shop, a place, search) is mostly product cards, and drawing
24 cards with Django's templates was nearly all of what a page cost when no cache held it (60–120 ms of
CPU). So each card is kept as HTML per language in the database (``ProductCard``), drawn the first time a
page shows it after a change and read with one query by every later page, whatever the fragment and page
caches hold: a page rendered from the database reads its cards, it does not draw them.

- **Staleness is per product.** A change to what a card shows (the product, its price or photos, its
  certifications, its shop or the shop's places, its kind) calls ``product_cards_stale`` in the change's
  transaction: the cards' generation moves on and their HTML is emptied. A catalogue change elsewhere leaves
  every other card as it is.
- **No stale card is kept by a race.** A page reads the cards (with their generation) before the products it
  draws; it stores a drawn card only where the generation is still the one it read. A change that commits in
  between has moved the generation (or left an emptied row where there was none), so the drawn card, made
  from data the change replaced, is dropped and drawn again by the next page.
- **The date and the release.** The in-season and pre-sale flags follow the date, the markup and its words
  the release: a card counts only for the day and the card format (``card_format``) it was drawn for.
- **Stock stays live.** Cards are shown inside ``{% live_stock %}``, which sets each card's sold-out state
  from the stock of now (``storefront_tags.live_stock_apply``), as for cached fragments.
- **Keeping a card is best effort.** A page that cannot write (a busy or read-only database) shows what it
  drew and logs; the next page draws it again.
"""

import functools
import hashlib
import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.template import Engine
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from oscar.core.loading import get_class, get_model

from marketplace.storefront import selectors
from marketplace.storefront.models import ProductCard

Product = get_model("catalogue", "Product")
Selector = get_class("partner.strategy", "Selector")

logger = logging.getLogger(__name__)

CARD_TEMPLATE = "storefront/partials/product_card.html"
# Moved on by hand when the card's Python changes (its template tags and filters, the product's properties it
# reads): the template's text and the translations are fingerprinted by ``card_format`` itself.
CARD_CODE_VERSION = 1


@functools.cache
def card_format() -> str:
    """A fingerprint of what draws a card besides its product: the card's template, the compiled
    translations and ``CARD_CODE_VERSION``. A release that changes any of them redraws every card once."""
    digest = hashlib.sha256(f"{CARD_CODE_VERSION}".encode())
    digest.update(Engine.get_default().get_template(CARD_TEMPLATE).source.encode())
    for locale_path in settings.LOCALE_PATHS:
        for catalogue in sorted(Path(locale_path).glob("*/LC_MESSAGES/*.mo")):
            digest.update(catalogue.read_bytes())
    return digest.hexdigest()[:16]


def drawn_for_today() -> str:
    return f"{timezone.localdate().isoformat()}:{card_format()}"


def product_cards_html(*, product_ids: Sequence[int]) -> list[SafeString]:
    """The cards of these products in the active language, in their order: one query for the kept cards,
    and for any missing or stale ones their products (``selectors.product_cards``), drawn and kept.
    Products no longer on sale are left out. A card is the same for every visitor: it is drawn with the
    default pricing strategy (Oscar's ``Selector`` for no user), as the cached grids always were."""
    ids = list(dict.fromkeys(int(pk) for pk in product_ids))
    if not ids:
        return []
    if not settings.STOREFRONT_CARD_STORE:
        drawn = _cards_draw(ids)
        return [mark_safe(drawn[pk]) for pk in ids if pk in drawn]  # noqa: S308
    language = get_language() or settings.LANGUAGE_CODE
    drawn_for = drawn_for_today()
    # The cards first, the products after (see the module's docstring).
    generations: dict[int, int] = {}
    html: dict[int, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, generation, html, drawn_for FROM {ProductCard._meta.db_table}"  # noqa: S608
            f" WHERE language = %s AND product_id IN ({', '.join(['%s'] * len(ids))})",
            [language, *ids],
        )
        for product_id, generation, card, card_drawn_for in cursor.fetchall():
            generations[product_id] = generation
            if card and card_drawn_for == drawn_for:
                html[product_id] = card
    missing = [pk for pk in ids if pk not in html]
    if missing:
        drawn = _cards_draw(missing)
        html.update(drawn)
        _cards_keep(drawn, generations=generations, language=language, drawn_for=drawn_for)
    # Drawn by our own template, which escapes what it shows; kept as drawn.
    return [mark_safe(html[pk]) for pk in ids if pk in html]  # noqa: S308


def _cards_draw(product_ids: list[int]) -> dict[int, str]:
    template = get_template(CARD_TEMPLATE)
    products = selectors.product_cards(selectors.storefront_products().filter(pk__in=product_ids))
    # No context processors: a card reads its product and, through Oscar's purchase-info tag, a request's
    # pricing strategy: the one every visitor without a user gets.
    anyone = SimpleNamespace(strategy=Selector().strategy())
    return {product.pk: template.render({"product": product, "request": anyone}) for product in products}


def _cards_keep(drawn: dict[int, str], *, generations: dict[int, int], language: str, drawn_for: str) -> None:
    table = ProductCard._meta.db_table
    updates = [
        (card, drawn_for, product_id, language, generations[product_id])
        for product_id, card in drawn.items()
        if product_id in generations
    ]
    inserts = [
        ProductCard(product_id=product_id, language=language, html=card, drawn_for=drawn_for)
        for product_id, card in drawn.items()
        if product_id not in generations
    ]
    try:
        with transaction.atomic():
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {table} SET html = %s, drawn_for = %s"  # noqa: S608
                        " WHERE product_id = %s AND language = %s AND generation = %s",
                        updates,
                    )
            if inserts:
                # A row made meanwhile (by a change, or by another page) wins: its generation is newer.
                ProductCard.objects.bulk_create(inserts, ignore_conflicts=True)
    except DatabaseError:
        logger.warning("product cards drawn but not kept", exc_info=True)


def product_cards_stale(products: "QuerySet | Collection[int]") -> None:
    """In a change's transaction: the cards of these products (a queryset of products, or their ids) are
    drawn again by the next page that shows them, in every language. Products that have no card yet get an
    emptied row, so that a page which read them before the change cannot keep a card drawn from the old
    data. One statement per language."""
    if isinstance(products, QuerySet):
        subquery, params = products.order_by().values("pk").query.sql_with_params()
    else:
        ids = [int(pk) for pk in products]
        if not ids:
            return
        subquery, params = ", ".join(["%s"] * len(ids)), tuple(ids)
    table = ProductCard._meta.db_table
    with connection.cursor() as cursor:
        for language, _name in settings.LANGUAGES:
            cursor.execute(
                f"INSERT INTO {table} (product_id, language, generation, html, drawn_for)"  # noqa: S608
                f" SELECT id, %s, 1, '', '' FROM {Product._meta.db_table} WHERE id IN ({subquery})"
                " ON CONFLICT (product_id, language) DO UPDATE"
                f" SET generation = {table}.generation + 1, html = '', drawn_for = ''",
                [language, *params],
            )
