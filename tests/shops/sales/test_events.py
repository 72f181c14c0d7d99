"""The facts follow the events: a shop order paid through checkout and Stripe (localstripe), and a
refund through the refund service, refresh their shop's day after commit; the result equals a rebuild."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketplace.order.models import ShopOrder
from marketplace.payments.services import shop_order_refund
from shops.sales.models import ProductSalesDay, SalesDay
from shops.sales.tasks import facts_refresh_recent
from tests.checkout.conftest import provinces  # noqa: F401  (shared fixtures)
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)
from tests.shops.console.conftest import order_paid, shop_a, shop_b  # noqa: F401  (shared fixtures)

D = Decimal


def facts():
    return sorted(
        SalesDay.objects.values_list("day", "shop_id", "sales", "units", "goods", "shipping", "refunds")
    ), sorted(
        ProductSalesDay.objects.values_list("day", "shop_id", "product_id", "units", "refunds_itemised")
    )


@pytest.mark.django_db
def test_paying_and_refunding_refresh_the_facts(
    stripe_settings,  # noqa: F811  (the imported fixtures)
    localstripe,  # noqa: F811
    shop_a,  # noqa: F811
    shop_b,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        order = order_paid(localstripe, (shop_a.product, 2), (shop_b.product, 1))
    today = timezone.localdate()
    peaches = SalesDay.objects.get(day=today, shop=shop_a.shop)
    part = ShopOrder.objects.get(order=order, shop=shop_a.shop)
    assert (peaches.sales, peaches.units, peaches.goods) == (1, 2, D("336.00"))
    assert peaches.shipping == part.shipping_charge
    assert peaches.refunds == D("0.00")

    line = part.lines().get()
    with django_capture_on_commit_callbacks(execute=True):
        shop_order_refund(shop_order_id=part.pk, lines={line.pk: 1}, reason="one box bruised")
    peaches = SalesDay.objects.get(day=today, shop=shop_a.shop)  # rebuilt: a new row
    assert (peaches.refunds, peaches.refunds_itemised) == (D("168.00"), D("168.00"))
    assert ProductSalesDay.objects.get(day=today, product=shop_a.product).refunds_itemised == D("168.00")

    incremental = facts()
    call_command("sales_facts_rebuild")
    assert facts() == incremental
    facts_refresh_recent()  # the nightly safety net changes nothing either
    assert facts() == incremental
