"""Small presentation helpers for the storefront's templates: harvest months, weights, page links
and the product page's 'recently viewed' strip (read through the storefront selectors, so it costs a
fixed number of queries)."""

import hashlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import template
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache.utils import make_template_fragment_key
from django.core.paginator import Page
from django.http import HttpRequest, QueryDict
from django.template import Context
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _
from oscar.core.loading import get_class

from marketplace.checkout.selectors import BasketShopSection
from marketplace.checkout.selectors import basket_shop_sections as sections_of
from marketplace.order.models import ShopOrder
from marketplace.order.selectors import buyer_orders_with_parts
from marketplace.order.shop_orders import order_status_derived
from marketplace.storefront import selectors
from marketplace.storefront.caching import fragment_cache, fragment_seconds
from marketplace.storefront.cards import product_cards_html
from marketplace.storefront.kept import kept_format, kept_state, kept_store

if TYPE_CHECKING:
    from django.forms.formsets import BaseFormSet
    from django_stubs_ext import StrOrPromise
    from oscar.apps.basket.models import Basket
    from oscar.apps.catalogue.models import Product
    from oscar.apps.order.models import Order

register = template.Library()

# A product card's opening tag (storefront/partials/product_card.html): its sold-out class and its product.
CARD_MARKER = re.compile(r'<article class="product-card( product-card--sold-out)?" data-product="(\d+)"')

CustomerHistoryManager = get_class("customer.history", "CustomerHistoryManager")

GRAMS_PER_KG = 1000
MONTHS = {
    1: pgettext_lazy("harvest month", "Jan"),
    2: pgettext_lazy("harvest month", "Feb"),
    3: pgettext_lazy("harvest month", "Mar"),
    4: pgettext_lazy("harvest month", "Apr"),
    5: pgettext_lazy("harvest month", "May"),
    6: pgettext_lazy("harvest month", "Jun"),
    7: pgettext_lazy("harvest month", "Jul"),
    8: pgettext_lazy("harvest month", "Aug"),
    9: pgettext_lazy("harvest month", "Sep"),
    10: pgettext_lazy("harvest month", "Oct"),
    11: pgettext_lazy("harvest month", "Nov"),
    12: pgettext_lazy("harvest month", "Dec"),
}


@register.filter
def harvest_window(product: "Product") -> str:
    """'6月–8月' / 'Jun–Aug'; empty when the product has no harvest window."""
    window = getattr(product, "harvest_months", None)
    if not window:
        return ""
    start, end = window
    if start == end:
        return str(MONTHS[start])
    return f"{MONTHS[start]}–{MONTHS[end]}"


@register.filter
def net_weight(grams: int | str | None) -> str:
    """5000 → '5 kg', 2500 → '2.5 kg', 400 → '400 g' (in the active language's units)."""
    if not grams:
        return ""
    grams = int(grams)
    if grams >= GRAMS_PER_KG:
        kg = f"{grams / GRAMS_PER_KG:.2f}".rstrip("0").rstrip(".")
        return _("%(kg)s kg") % {"kg": kg}
    return _("%(g)s g") % {"g": grams}


def page_window(page_obj: Page[Any]) -> list[int | str]:
    """Page numbers around the current page, with Paginator.ELLIPSIS for the gaps."""
    paginator = page_obj.paginator
    return list(paginator.get_elided_page_range(page_obj.number, on_each_side=2, on_ends=1))


@register.simple_tag(takes_context=True)
def pager(context: Context, page_obj: Page[Any] | None) -> SafeString:
    """A list's pages (nothing when it has one): previous, "2 / 9", next, and from 600 px the page numbers
    around this one. Links keep the rest of the query string (q, …). Written here rather than as a template
    (and with each text escaped once rather than through ``format_html`` per link): on a list page drawn from
    scratch the template's tags and per-link translations were a sixth of the page's CPU."""
    if not page_obj or page_obj.paginator.num_pages <= 1:
        return SafeString("")
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query.pop("page", None)
    href = escape(f"?{query.urlencode()}&page=" if query else "?page=")
    previous, following = escape(_("Previous")), escape(_("Next"))
    paginator, number = page_obj.paginator, int(page_obj.number)
    parts = [f'<nav class="pager" aria-label="{escape(_("Pages"))}">']
    if page_obj.has_previous():
        parts.append(f'<a class="pager__link" rel="prev" href="{href}{number - 1}">‹ {previous}</a>')
    else:
        parts.append(f'<span class="pager__link is-disabled" aria-hidden="true">‹ {previous}</span>')
    status = escape(_("%(number)s / %(total)s") % {"number": number, "total": paginator.num_pages})
    parts.append(f'<span class="pager__status">{status}</span><span class="pager__pages">')
    for shown in page_window(page_obj):
        if not isinstance(
            shown, int
        ):  # the paginator's ELLIPSIS (compared as a lazy translation, it cost more)
            parts.append('<span class="pager__gap" aria-hidden="true">…</span>')
        elif shown == number:
            parts.append(f'<span class="pager__link is-current" aria-current="page">{number}</span>')
        else:
            label = escape(_("Page %(number)s") % {"number": shown})
            parts.append(
                f'<a class="pager__link" href="{href}{int(shown)}" aria-label="{label}">{int(shown)}</a>'
            )
    parts.append("</span>")
    if page_obj.has_next():
        parts.append(f'<a class="pager__link" rel="next" href="{href}{number + 1}">{following} ›</a>')
    else:
        parts.append(f'<span class="pager__link is-disabled" aria-hidden="true">{following} ›</span>')
    parts.append("</nav>")
    return SafeString("".join(parts))


@register.simple_tag(takes_context=True)
def recently_viewed_cards(
    context: Context, current_product: "Product | None" = None, limit: int = 4
) -> list[int]:
    """The buyer's recently viewed products (from Oscar's history cookie), newest first, as the ids
    ``{% product_card_items %}`` draws (products no longer on sale are left out there)."""
    request = context.get("request")
    if request is None:
        return []
    ids = [pk for pk in reversed(CustomerHistoryManager.extract(request)) if isinstance(pk, int)]
    if current_product is not None:
        ids = [pk for pk in ids if pk != current_product.pk]
    return ids[:limit]


@register.simple_tag
def product_card_items(products: Iterable[Any]) -> SafeString:
    """Each product's card in an ``<li>``, in order: products or their ids, the cards read as drawn
    (``marketplace/storefront/cards.py``: one query, and the products of cards not drawn yet)."""
    ids = [getattr(product, "pk", product) for product in products]
    cards = product_cards_html(product_ids=ids)
    # Each card is our template's own escaped HTML.
    return SafeString("".join(f"<li>{card}</li>" for card in cards))


@register.simple_tag
def basket_item_count(request: HttpRequest) -> int:
    """Items in the visitor's basket: one SUM, or the loaded lines added up (the forked basket's
    ``num_items``)."""
    basket = getattr(request, "basket", None)
    return 0 if basket is None else int(basket.num_items)


@register.simple_tag
def basket_shop_sections(basket: "Basket", formset: "BaseFormSet[Any]") -> list[BasketShopSection]:
    """Oscar's basket line forms grouped under their shop (the basket page's lines, shop by shop)."""
    return sections_of(basket, formset)


@register.simple_tag
def buyer_orders(orders: Iterable["Order"]) -> list["Order"]:
    """One page of a buyer's order history, each order with its lines and shop orders loaded at once."""
    return buyer_orders_with_parts(orders)


@register.simple_tag
def order_status_label(order: "Order") -> "StrOrPromise":
    """The buyer's order status, derived from its shop orders
    (marketplace.order.shop_orders.order_status_derived)."""
    statuses = [shop_order.status for shop_order in order.shop_orders.all()]
    return ShopOrder.Status(order_status_derived(statuses)).label


@register.simple_tag
def workplaces(user: AbstractBaseUser | AnonymousUser) -> selectors.Workplaces:
    """The workplaces the signed-in visitor may open, each linked from the header: only those, so no
    one is shown a link that answers 403. Worked out once per request (kept on the request's user)."""
    found = getattr(user, "_workplaces", None)
    if found is None:
        found = selectors.user_workplaces(user)
        if user.is_authenticated:
            user._workplaces = found  # type: ignore[attr-defined]  # a per-request cache on the user object
    return found


class LiveStockNode(template.Node):
    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        return live_stock_apply(self.nodelist.render(context))


def live_stock_apply(html: str) -> str:
    """Set every product card's sold-out state in ``html`` to the stock of now (one query for the whole
    fragment). Cached grids are thus never stale about stock, and orders never have to empty the cache."""
    product_ids = {int(match[2]) for match in CARD_MARKER.finditer(html)}
    if not product_ids:
        return html
    stock = selectors.products_live_stock(product_ids=product_ids)

    def card_open(match: "re.Match[str]") -> str:
        product_id = int(match[2])
        if product_id not in stock.tracked:
            return match[0]
        sold_out = " product-card--sold-out" if product_id in stock.sold_out else ""
        return f'<article class="product-card{sold_out}" data-product="{product_id}"'

    # Only our own attribute changes, with an integer read from our own markup: the fragment stays as safe as
    # it was rendered.
    return SafeString(CARD_MARKER.sub(card_open, html))


@register.tag
def live_stock(parser: Parser, token: Token) -> LiveStockNode:
    """``{% live_stock %}…{% endlive_stock %}``: around a cached fragment that holds product cards."""
    nodelist = parser.parse(("endlive_stock",))
    parser.delete_first_token()
    return LiveStockNode(nodelist)


class KeptNode(template.Node):
    def __init__(
        self,
        nodelist: NodeList,
        scope: FilterExpression,
        key: FilterExpression,
        name: FilterExpression,
        vary_on: list[FilterExpression],
        drawn_at: FilterExpression | None,
    ) -> None:
        self.nodelist = nodelist
        self.scope, self.key, self.name, self.vary_on = scope, key, name, vary_on
        self.drawn_at = drawn_at

    def render(self, context: Context) -> str:
        if not settings.STOREFRONT_CARD_STORE:
            return self.nodelist.render(context)
        scope, key, name = (
            str(expression.resolve(context)) for expression in (self.scope, self.key, self.name)
        )
        language = get_language() or settings.LANGUAGE_CODE
        vary = repr([expression.resolve(context) for expression in self.vary_on])
        drawn_for = f"{kept_format()}:{hashlib.sha256(vary.encode()).hexdigest()[:16]}"
        state = kept_state(context.get("request"), scope=scope, key=key, language=language)
        found = state.fragments.get(name)
        if found is not None and found[0] == drawn_for:
            # Drawn by this tag's own block, which escapes what it shows; kept as drawn.
            return SafeString(found[1])
        html = self.nodelist.render(context)
        # The generation read before the data the block was drawn from: the page's own read, or the one
        # an object read earlier carries (``drawn_at``); an object that carries none is not kept from.
        generation = state.generation if self.drawn_at is None else self.drawn_at.resolve(context)
        if isinstance(generation, int):
            kept_store(
                scope=scope,
                key=key,
                name=name,
                language=language,
                generation=generation,
                drawn_for=drawn_for,
                html=html,
            )
        return html


class StorefrontCacheNode(template.Node):
    def __init__(self, nodelist: NodeList, name: str, vary_on: list[FilterExpression]) -> None:
        self.nodelist, self.name, self.vary_on = nodelist, name, vary_on

    def render(self, context: Context) -> str:
        seconds = fragment_seconds()
        if seconds <= 0:  # caching off: the cache is neither read nor written, as by cached_by_version
            return self.nodelist.render(context)
        key = make_template_fragment_key(
            self.name, [expression.resolve(context) for expression in self.vary_on]
        )
        fragments = fragment_cache()
        html = fragments.get(key)
        if html is None:
            html = self.nodelist.render(context)
            fragments.set(key, html, seconds)
        return html


@register.tag
def storefront_cache(parser: Parser, token: Token) -> StorefrontCacheNode:
    """``{% storefront_cache "name" vary_on… %}…{% endstorefront_cache %}``: Django's ``{% cache %}`` with the
    storefront's cache and timeout (``STOREFRONT_CACHE_SECONDS``). With caching off (0, the benchmark's
    pages from the database) the block is drawn each time without a round trip to the cache: Django's tag
    would still read a fragment stored earlier, and write one that expires at once."""
    bits = token.split_contents()
    if len(bits) < 2:  # noqa: PLR2004
        raise template.TemplateSyntaxError(f"'{bits[0]}' takes a fragment name")
    nodelist = parser.parse(("endstorefront_cache",))
    parser.delete_first_token()
    return StorefrontCacheNode(
        nodelist, bits[1].strip("\"'"), [parser.compile_filter(bit) for bit in bits[2:]]
    )


@register.tag
def kept(parser: Parser, token: Token) -> KeptNode:
    """``{% kept scope key name [vary_on …] [drawn_at=generation] %}…{% endkept %}``: the block drawn once
    per change of its scope's key and kept in the database (``marketplace/storefront/kept.py``), per
    language, release and ``vary_on`` values. Only for blocks that are the same for every visitor.

    What the block draws must be read after the scope's generation: lazily inside the block, or, for an
    object read earlier, with the generation read before it given as ``drawn_at``."""
    bits = token.split_contents()
    drawn_at = None
    if bits[-1].startswith("drawn_at="):
        drawn_at = parser.compile_filter(bits.pop().removeprefix("drawn_at="))
    if len(bits) < 4:  # noqa: PLR2004
        raise template.TemplateSyntaxError(f"'{bits[0]}' takes a scope, a key and a name")
    nodelist = parser.parse(("endkept",))
    parser.delete_first_token()
    scope, key, name, *vary_on = (parser.compile_filter(bit) for bit in bits[1:])
    return KeptNode(nodelist, scope, key, name, vary_on, drawn_at)
