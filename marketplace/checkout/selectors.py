"""The basket as the buyer sees it at checkout and on the basket page: grouped by shop, each group with
its shipping charge."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from marketplace.shipping.models import ShippingRule
from marketplace.shipping.parcels import ShippingQuote, parcel_line, shipping_quote

if TYPE_CHECKING:
    from django.forms.formsets import BaseFormSet
    from oscar.apps.basket.models import Basket, BasketLine
    from oscar.apps.partner.models import Partner


@dataclass(frozen=True)
class ShopGroup:
    shop: "Partner"
    lines: list["BasketLine"]
    goods_total: Decimal
    shipping: ShippingQuote
    rule: ShippingRule | None = None  # the shop's rule the quote came from (None: the default rule)

    @property
    def total(self) -> Decimal:
        return self.goods_total + self.shipping.charge


def basket_shop_groups(basket: "Basket") -> list[ShopGroup]:
    """One group per shop in the basket, in shop order, with the shop's own shipping charge."""
    lines = list(basket.all_lines())  # Oscar's basket (forked) loads product, shop and stock with them
    # Oscar asks for the shipping charge several times per page: compute once per state of the basket.
    state = tuple((line.pk, line.quantity, line.stockrecord_id) for line in lines)
    memo = getattr(basket, "_shop_groups_memo", None)
    if memo is not None and memo[0] == state:
        return memo[1]
    by_shop: dict[int, list] = {}
    for line in lines:
        by_shop.setdefault(line.stockrecord.partner_id, []).append(line)
    rules = {rule.shop_id: rule for rule in ShippingRule.objects.filter(shop_id__in=by_shop)}
    groups = []
    for shop_id in sorted(by_shop):
        shop_lines = by_shop[shop_id]
        parcel = [parcel_line(line) for line in shop_lines]
        groups.append(
            ShopGroup(
                shop=shop_lines[0].stockrecord.partner,
                lines=shop_lines,
                goods_total=sum((p.total for p in parcel), Decimal("0")),
                shipping=shipping_quote(rule=rules.get(shop_id), lines=parcel),
                rule=rules.get(shop_id),
            )
        )
    basket._shop_groups_memo = (state, groups)
    return groups


@dataclass(frozen=True)
class BasketLineForm:
    """One form of Oscar's basket formset and its position in it (Oscar's remove / save-for-later links
    name the form by that position, so it stays the formset's own, whatever the grouping)."""

    index: int
    form: object


@dataclass(frozen=True)
class BasketShopSection:
    """The basket page's part for one shop: its group (heading, shipping, subtotal) and its line forms.
    ``group`` is None only for forms whose line is no longer in the basket's groups."""

    group: ShopGroup | None
    forms: list[BasketLineForm] = field(default_factory=list)


def basket_shop_sections(basket: "Basket", formset: "BaseFormSet[Any]") -> list[BasketShopSection]:
    """Oscar's basket line forms under their shop, in the order of ``basket_shop_groups``. Every form of
    the formset is placed exactly once, so the one formset still posts every line."""
    groups = basket_shop_groups(basket)  # memoized: the totals and the shipping method use the same
    by_shop: dict[int, list[BasketLineForm]] = {}
    for index, form in enumerate(formset.forms):
        by_shop.setdefault(form.instance.stockrecord.partner_id, []).append(BasketLineForm(index, form))
    sections = [
        BasketShopSection(group, by_shop.pop(group.shop.pk)) for group in groups if group.shop.pk in by_shop
    ]
    leftovers = [line_form for forms in by_shop.values() for line_form in forms]
    if leftovers:
        sections.append(BasketShopSection(None, leftovers))
    return sections
