"""What a shop charges to deliver its part of an order (its shipping rule, or the marketplace default)."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from marketplace.shipping.models import ShippingRule

if TYPE_CHECKING:
    from oscar.apps.basket.models import BasketLine
    from oscar.apps.order.models import OrderLine

# Used for a shop that has not set its own rule yet: what most village shops charge.
DEFAULT_RULE = ShippingRule(
    kind=ShippingRule.Kind.FLAT,
    flat_charge=Decimal("12.00"),
    free_above=Decimal("199.00"),
    cold_chain_surcharge=Decimal("18.00"),
)


@dataclass(frozen=True)
class ParcelLine:
    unit_price: Decimal
    quantity: int
    net_weight_g: int | None
    perishable: bool

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


def parcel_line(line: "BasketLine | OrderLine") -> ParcelLine:
    """A basket line or an order line as the shipping rule sees it (both carry product, quantity and
    the unit price paid)."""
    return ParcelLine(
        unit_price=line.unit_price_incl_tax or Decimal("0"),
        quantity=line.quantity,
        net_weight_g=getattr(line.product, "net_weight_g", None),
        perishable=bool(getattr(line.product, "perishable", False)),
    )


@dataclass(frozen=True)
class ShippingQuote:
    charge: Decimal
    weight_kg: int
    cold_chain: bool
    free: bool


def shipping_quote(*, rule: ShippingRule | None, lines: Iterable[ParcelLine]) -> ShippingQuote:
    """The shipping charge of one shop's parcel. Weight is rounded up to whole kilograms (carriers'
    practice); any perishable line makes the parcel cold chain; "free above" waives the whole charge."""
    rule = rule or DEFAULT_RULE
    lines = list(lines)
    goods = sum((line.total for line in lines), Decimal("0"))
    grams = sum((line.net_weight_g or 0) * line.quantity for line in lines)
    weight_kg = max(1, math.ceil(grams / 1000)) if lines else 0
    cold_chain = any(line.perishable for line in lines)
    if not lines:
        return ShippingQuote(Decimal("0.00"), 0, False, False)
    if rule.free_above is not None and goods >= rule.free_above:
        return ShippingQuote(Decimal("0.00"), weight_kg, cold_chain, True)
    if rule.kind == ShippingRule.Kind.BY_WEIGHT:
        charge = rule.first_kg_charge + rule.extra_kg_charge * (weight_kg - 1)
    else:
        charge = rule.flat_charge
    if cold_chain:
        charge += rule.cold_chain_surcharge
    return ShippingQuote(charge.quantize(Decimal("0.01")), weight_kg, cold_chain, False)
