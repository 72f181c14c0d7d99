"""The basket as the buyer sees it at checkout: grouped by shop, each group with its shipping charge."""

from dataclasses import dataclass
from decimal import Decimal

from shops.models import ShippingRule
from shops.shipping import ShippingQuote, parcel_line, shipping_quote


@dataclass(frozen=True)
class ShopGroup:
    shop: object
    lines: list
    goods_total: Decimal
    shipping: ShippingQuote

    @property
    def total(self) -> Decimal:
        return self.goods_total + self.shipping.charge


def basket_shop_groups(basket) -> list[ShopGroup]:
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
            )
        )
    basket._shop_groups_memo = (state, groups)
    return groups
