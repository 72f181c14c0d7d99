"""Where a parcel's produce grew is drawn once per change of what it shows and kept (the trace page's
``{% kept %}`` parts, shops/harvest/receivers.py): a later page reads no line, batch or roll-up, and a
change to the product, a batch photo, a shop, or a late sensor reading of the plot's season is shown by
the next page. Its journey is kept while it does not move: a leg's status, a new reading or a partner's
name draws it again."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from logistics.coldchain import ReadingIn, leg_readings_record
from logistics.models import Leg
from marketplace.storefront.models import KeptFragment
from shops.harvest.models import BatchPhoto, HarvestBatch
from shops.harvest.trace import TRACE_SCOPE
from shops.orchard.ingest import readings_ingest
from shops.orchard.models import Device
from shops.orchard.services import device_add
from tests.shops.harvest.test_trace import traced_parcel
from tests.shops.orchard.conftest import message

pytestmark = pytest.mark.django_db

SEASON_ROW = re.compile(r"<tr><th scope=\"row\">[^<]+</th><td>(-?[\d.]+)</td>")


@pytest.fixture(autouse=True)
def from_the_database(settings):
    settings.STOREFRONT_CACHE_SECONDS = 0
    settings.STOREFRONT_CARD_STORE = True


def trace_page(client, code: str) -> str:
    response = client.get(reverse("harvest:trace", kwargs={"code": code}))
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_view_reads_no_line_batch_or_roll_up_and_its_journey_is_live(client, peaches, plot):
    shop_order, code = traced_parcel(peaches, plot)
    first = trace_page(client, code)
    assert "东坡一号" in first
    assert set(KeptFragment.objects.filter(scope=TRACE_SCOPE).values_list("name", flat=True)) == {
        "grown",
        "journey",
        "certifications",
    }

    leg = shop_order.consignment.legs.exclude(status="rejected").order_by("sequence").first()
    Leg.objects.filter(pk=leg.pk).update(status=Leg.Status.IN_PROGRESS)
    with CaptureQueriesContext(connection) as queries:
        again = trace_page(client, code)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    # (The order's lines are read by the journey only, for the band of what travels.)
    for table in (
        "harvest_linedraw",
        "orchard_dailyrollup",
        "harvest_batchphoto",
        "catalogue_product_certifications",
    ):
        assert f'FROM "{table}"' not in read
    assert '"order_line"."quantity"' not in read
    assert "东坡一号" in again
    with translation.override("zh-hans"):
        assert str(Leg.Status.IN_PROGRESS.label) in again  # the journey as it is now


def test_a_product_renamed_or_a_batch_photographed_is_shown_by_the_next_view(client, peaches, plot):
    _shop_order, code = traced_parcel(peaches, plot)
    trace_page(client, code)
    peaches.title = "阳山水蜜桃 特级"
    peaches.save()
    assert "阳山水蜜桃 特级" in trace_page(client, code)

    batch = HarvestBatch.objects.get(shop=peaches.shop)
    BatchPhoto.objects.create(batch=batch, image=ContentFile(b"not read here", name="picked.jpg"))
    assert 'class="trace__photos"' in trace_page(client, code)

    peaches.shop.name = "阳山桃园"
    peaches.shop.save()
    assert "阳山桃园" in trace_page(client, code)


def test_a_late_sensor_reading_of_the_plots_season_is_shown(client, peaches, plot):
    _shop_order, code = traced_parcel(peaches, plot)
    before = trace_page(client, code)
    lowest_before = float(SEASON_ROW.findall(before)[0])

    device = device_add(plot=plot, device_id="ya-late-1", kind=Device.Kind.COMBINED)
    batch = HarvestBatch.objects.get(shop=peaches.shop)
    noon = timezone.make_aware(datetime.datetime.combine(batch.picked_on, datetime.time(12)))
    late = (noon - datetime.timedelta(days=2)).isoformat()
    outcome = readings_ingest([message(device, [("air_temp_c", late, -3.5)])], now=timezone.now())
    assert outcome.readings_stored == 1

    after = trace_page(client, code)
    assert float(SEASON_ROW.findall(after)[0]) < lowest_before  # the season's lowest now holds -3.5
    assert "-3.5" in after


def test_a_reading_after_the_picking_leaves_the_trace_kept(client, peaches, plot):
    _shop_order, code = traced_parcel(peaches, plot)
    trace_page(client, code)
    kept_before = list(KeptFragment.objects.filter(scope=TRACE_SCOPE).values_list("generation", flat=True))
    device = device_add(plot=plot, device_id="ya-late-2", kind=Device.Kind.COMBINED)
    now = timezone.now()
    readings_ingest([message(device, [("air_temp_c", now.isoformat(), 21.0)])], now=now)
    batch = HarvestBatch.objects.get(shop=peaches.shop)
    assert timezone.localdate(now) > batch.picked_on
    with CaptureQueriesContext(connection) as queries:
        trace_page(client, code)
    assert not any('FROM "orchard_dailyrollup"' in query["sql"] for query in queries.captured_queries)
    assert (
        list(KeptFragment.objects.filter(scope=TRACE_SCOPE).values_list("generation", flat=True))
        == kept_before
    )


# The code looked up, the kept parts read, and the journey's state (trace_journey_state): its legs, their
# status moves and readings as a fingerprint.
KEPT_TRACE_BUDGET = 3


def test_a_kept_trace_runs_a_fixed_number_of_queries_whatever_the_parcel_holds(client, peaches, plot):
    _one_box, small = traced_parcel(peaches, plot, boxes=1)
    _many, large = traced_parcel(peaches, plot, boxes=8)

    def queries(code: str) -> int:
        trace_page(client, code)  # its parts drawn and kept
        with CaptureQueriesContext(connection) as captured:
            trace_page(client, code)
        return len(captured.captured_queries)

    assert queries(small) == queries(large) <= KEPT_TRACE_BUDGET


def test_the_journey_is_kept_while_it_does_not_move_and_drawn_again_when_it_does(client, peaches, plot):
    shop_order, code = traced_parcel(peaches, plot)
    first = trace_page(client, code)
    assert (
        "3 temperature readings" in first
        or "3 次温度读数" in first
        or 'data-testid="trace-cold-chain"' in first
    )

    with CaptureQueriesContext(connection) as queries:
        trace_page(client, code)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert '"logistics_legtemperaturereading"."measured_at"' not in read  # no reading read again

    carrier = shop_order.consignment.legs.get(kind=Leg.Kind.CARRIER)
    leg_readings_record(
        leg=carrier,
        readings=[
            ReadingIn(measured_at=timezone.now() - datetime.timedelta(minutes=5), celsius=Decimal("3.0"))
        ],
        source="api",
    )
    with CaptureQueriesContext(connection) as queries:
        after = trace_page(client, code)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert '"logistics_legtemperaturereading"."measured_at"' in read  # drawn again
    assert "3.0" in after  # the new lowest reading

    partner = carrier.partner
    partner.name = "顺丰冷运 丽水"
    partner.save()
    assert "顺丰冷运 丽水" in trace_page(client, code)
