"""The parcel's public trace page: its produce, plot, picking day, sugar and the plot's season of
readings, its route with the cold chain's readings, its certifications; no personal data; unknown codes
404; a fixed number of queries whatever the parcel holds."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model

from logistics.coldchain import ReadingIn, leg_readings_record
from logistics.models import Leg
from logistics.routing import consignment_route
from marketplace.storefront.caching import catalogue_version_bump
from shops.harvest.models import ParcelTrace
from shops.harvest.services import NewBatch, batch_draws_settle, harvest_batch_record, parcel_traces_ensure
from shops.orchard.metrics import BY_CODE
from shops.orchard.models import DailyRollup
from tests.logistics.conftest import paid_shop_order

Certification = get_model("catalogue", "Certification")

pytestmark = pytest.mark.django_db


def season(plot, picked_on: datetime.date, days: int = 30) -> None:
    """Daily air temperatures for the plot: 18 … 30 °C, warming towards the picking."""
    air = BY_CODE["air_temp_c"].number
    DailyRollup.objects.bulk_create(
        DailyRollup(
            plot=plot,
            metric=air,
            day=picked_on - datetime.timedelta(days=n),
            value_min=18.0 + (days - n) * 0.1,
            value_max=30.0,
            value_sum=24.0 * 24,
            samples=24,
        )
        for n in range(days)
        if not DailyRollup.objects.filter(
            plot=plot, metric=air, day=picked_on - datetime.timedelta(days=n)
        ).exists()
    )


def traced_parcel(peaches, plot, *, boxes: int = 1):
    """A parcel of ``boxes`` peaches drawn from a batch picked yesterday, routed, with cold-chain readings."""
    picked_on = timezone.localdate() - datetime.timedelta(days=1)
    season(plot, picked_on)
    harvest_batch_record(
        shop_id=peaches.shop_id,
        new=NewBatch(
            products=(peaches,),
            plot=plot,
            picked_on=picked_on,
            quantity_kg=Decimal("50"),
            brix=Decimal("14.2"),
        ),
    )
    peaches.storage = "chilled"
    peaches.save(update_fields=["storage"])
    shop_order = paid_shop_order(peaches, quantity=boxes)
    batch_draws_settle(shop_id=peaches.shop_id)  # what the order-paid subscriber does
    code = parcel_traces_ensure(shop_order_ids=[shop_order.pk])[shop_order.pk]
    consignment = consignment_route(shop_order_id=shop_order.pk)
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    Leg.objects.filter(pk=carrier.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    carrier.refresh_from_db()
    leg_readings_record(
        leg=carrier,
        readings=[
            ReadingIn(measured_at=timezone.now() - datetime.timedelta(minutes=m), celsius=Decimal(c))
            for m, c in ((30, "4.0"), (20, "5.5"), (10, "11.0"))
        ],
        source="api",
    )
    return shop_order, code


def test_the_trace_page_shows_where_and_when_it_grew_and_how_it_travelled(client, peaches, plot):
    peaches.certifications.add(Certification.objects.create(code="gi", name="地理标志", name_en="GI"))
    shop_order, code = traced_parcel(peaches, plot)
    response = client.get(reverse("harvest:trace", kwargs={"code": code}))
    assert response.status_code == 200
    page = response.content.decode()
    assert "东坡一号" in page
    assert 'data-testid="trace-brix">14.2 度<' in page  # the sugar reading, in Chinese
    assert 'data-testid="trace-season"' in page  # the plot's readings before picking
    assert (
        page.count('data-testid="trace-leg"')
        == shop_order.consignment.legs.exclude(status="rejected").count()
    )
    assert 'data-testid="trace-breach"' in page  # 11 °C is outside the chilled band
    assert "地理标志" in page
    # No personal data: not the buyer, the address, the phone or the order number.
    for private in ("王小明", "世纪大道", "13800138000", shop_order.number, "buyer@example.cn"):
        assert private not in page


def test_the_trace_page_in_english(client, peaches, plot):
    _shop_order, code = traced_parcel(peaches, plot)
    client.cookies["django_language"] = "en"
    page = client.get(
        reverse("harvest:trace", kwargs={"code": code}), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Where your produce came from" in page
    assert "East slope 1" in page


def test_an_unknown_or_malformed_code_is_404(client):
    for code in ("AAAAAAAAAAAAAAAA", "short", "a" * 40, "../../etc"):
        assert client.get(f"/t/{code}/").status_code == 404


def test_the_trace_page_query_count_does_not_grow_with_the_parcel(client, peaches, plot):
    _one_box, small = traced_parcel(peaches, plot, boxes=1)
    _many, large = traced_parcel(peaches, plot, boxes=8)

    def queries(code: str) -> int:
        catalogue_version_bump()  # from the database, not the cached fragment
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("harvest:trace", kwargs={"code": code})).status_code == 200
        return len(captured.captured_queries)

    assert queries(small) == queries(large) <= TRACE_BUDGET


# Drawn from the database, its kept parts drawn and kept too (shops/harvest/receivers.py): their state read
# first, then where it grew and its journey, and the three parts kept (a savepoint, the insert and its
# release each). Kept, the page runs 3 (tests/shops/harvest/test_trace_kept.py).
TRACE_BUDGET = 24


def test_a_cached_trace_page_asks_only_whether_the_code_exists(client, peaches, plot):
    _shop_order, code = traced_parcel(peaches, plot)
    url = reverse("harvest:trace", kwargs={"code": code})
    client.get(url)
    client.cookies["sessionid"] = "x"  # not a cookieless visitor: the fragment, not the stored page
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    assert len(captured.captured_queries) <= 2


def test_a_trace_code_is_random_and_made_once(peaches, plot):
    shop_order, code = traced_parcel(peaches, plot)
    assert len(code) >= 16
    assert parcel_traces_ensure(shop_order_ids=[shop_order.pk]) == {shop_order.pk: code}
    assert ParcelTrace.objects.count() == 1
