from decimal import Decimal

import pytest

from marketplace.shipping.models import ShippingRule
from marketplace.shipping.parcels import DEFAULT_RULE, ParcelLine, shipping_quote

peaches = ParcelLine(unit_price=Decimal("168.00"), quantity=1, net_weight_g=2500, perishable=True)
tea = ParcelLine(unit_price=Decimal("98.00"), quantity=2, net_weight_g=250, perishable=False)


def test_flat_rule_adds_the_cold_chain_surcharge_for_perishables():
    rule = ShippingRule(kind="flat", flat_charge=Decimal("10"), cold_chain_surcharge=Decimal("15"))
    assert shipping_quote(rule=rule, lines=[tea]).charge == Decimal("10.00")
    quote = shipping_quote(rule=rule, lines=[tea, peaches])
    assert (quote.charge, quote.cold_chain) == (Decimal("25.00"), True)


def test_by_weight_rounds_up_to_whole_kilograms():
    rule = ShippingRule(kind="by_weight", first_kg_charge=Decimal("8"), extra_kg_charge=Decimal("3"))
    quote = shipping_quote(rule=rule, lines=[peaches, tea])  # 2.5 kg + 0.5 kg = 3 kg
    assert (quote.weight_kg, quote.charge) == (3, Decimal("14.00"))
    assert shipping_quote(rule=rule, lines=[tea]).charge == Decimal("8.00")  # 0.5 kg counts as 1


@pytest.mark.parametrize(("lines", "free"), [([peaches, tea], True), ([tea], False)])
def test_free_above_waives_the_whole_charge(lines, free):
    rule = ShippingRule(kind="flat", flat_charge=Decimal("12"), free_above=Decimal("199"))
    quote = shipping_quote(rule=rule, lines=lines)
    assert quote.free is free
    assert quote.charge == (Decimal("0.00") if free else Decimal("12.00"))


def test_a_shop_without_a_rule_gets_the_marketplace_default():
    assert shipping_quote(rule=None, lines=[tea]).charge == DEFAULT_RULE.flat_charge


def test_an_empty_parcel_costs_nothing():
    assert shipping_quote(rule=None, lines=[]).charge == Decimal("0.00")
