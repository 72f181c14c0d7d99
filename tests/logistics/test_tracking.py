"""Tracking events from the partners: idempotent, derived leg status whatever the arrival order, the shop
order and consignment following the parcel, the buyer told; accepting a leg."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone
from oscar.core.loading import get_model

from logistics import notifications
from logistics.models import Consignment, Leg, LogisticsPartner, TrackingEvent
from logistics.routing import consignment_route
from logistics.selectors import shop_orders_tracking
from logistics.tracking import TrackingError, leg_accept, leg_status_derived, tracking_event_record
from marketplace.order.models import ShopOrder
from tests.logistics.conftest import paid_shop_order

StockRecord = get_model("partner", "StockRecord")
K = TrackingEvent.Kind
S = ShopOrder.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def consignment(tea) -> Consignment:
    return consignment_route(shop_order_id=paid_shop_order(tea).pk)


def legs_of(consignment: Consignment) -> dict[str, Leg]:
    return {leg.kind: leg for leg in consignment.legs.exclude(status=Leg.Status.REJECTED)}


def at(hours_ago: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=hours_ago)


def record(leg: Leg, kind: str, *, hours_ago: float = 1, key: str = "", note: str = ""):
    return tracking_event_record(
        leg=leg, kind=kind, occurred_at=at(hours_ago), note=note, idempotency_key=key or f"{leg.pk}-{kind}"
    )


def status_of(model_object) -> str:
    model_object.refresh_from_db()
    return model_object.status


def test_the_first_leg_picked_up_hands_the_shop_order_over_and_consumes_its_stock(consignment):
    shop_order = consignment.shop_order
    stock = StockRecord.objects.get(product__title="龙谷丽人茶")
    allocated_before = stock.num_allocated
    first_mile = legs_of(consignment)["first_mile"]

    event, created = record(first_mile, K.PICKED_UP)

    assert created
    assert status_of(first_mile) == Leg.Status.IN_PROGRESS
    assert status_of(shop_order) == S.HANDED_OVER
    # Stepped through the allowed transitions, each saying which partner picked it up.
    moves = list(shop_order.events.filter(from_status__in=[S.PAID, S.ACCEPTED, S.PACKED]))
    assert [(m.from_status, m.to_status) for m in moves] == [
        (S.PAID, S.ACCEPTED),
        (S.ACCEPTED, S.PACKED),
        (S.PACKED, S.HANDED_OVER),
    ]
    assert all(first_mile.partner.display_name in m.reason and m.actor is None for m in moves)
    shop_order.refresh_from_db()
    stock.refresh_from_db()
    assert not shop_order.stock_held
    assert stock.num_allocated == allocated_before - 1  # the box left the shop for good


def test_a_carrier_event_puts_the_shop_order_in_transit(consignment):
    legs = legs_of(consignment)
    record(legs["first_mile"], K.PICKED_UP, hours_ago=5)
    record(legs["carrier"], K.DEPARTED, hours_ago=1)
    assert status_of(consignment.shop_order) == S.IN_TRANSIT
    assert status_of(legs["carrier"]) == Leg.Status.IN_PROGRESS


def test_every_leg_delivered_delivers_the_shop_order_and_the_consignment(consignment):
    legs = legs_of(consignment)
    record(legs["first_mile"], K.PICKED_UP, hours_ago=10)
    record(legs["first_mile"], K.DELIVERED, hours_ago=9)
    record(legs["hub"], K.ARRIVED_AT_HUB, hours_ago=8)
    record(legs["hub"], K.DELIVERED, hours_ago=7)
    record(legs["carrier"], K.DEPARTED, hours_ago=6)
    assert status_of(consignment) == Consignment.Status.ROUTED

    record(legs["carrier"], K.DELIVERED, hours_ago=1)

    assert status_of(consignment) == Consignment.Status.DELIVERED
    assert status_of(consignment.shop_order) == S.DELIVERED
    last = consignment.shop_order.events.last()
    assert last.to_status == S.DELIVERED
    assert legs["carrier"].partner.display_name in last.reason


def test_the_carrier_delivering_while_an_earlier_leg_never_reported_done_leaves_the_order_in_transit(
    consignment,
):
    legs = legs_of(consignment)
    record(legs["carrier"], K.DELIVERED)
    assert status_of(legs["carrier"]) == Leg.Status.DELIVERED
    assert status_of(consignment.shop_order) == S.IN_TRANSIT
    assert status_of(consignment) == Consignment.Status.ROUTED


def test_an_older_event_arriving_after_delivered_is_kept_but_the_leg_stays_delivered(consignment):
    carrier = legs_of(consignment)["carrier"]
    record(carrier, K.DELIVERED, hours_ago=1)

    departed, created = record(carrier, K.DEPARTED, hours_ago=20)

    assert created
    assert status_of(carrier) == Leg.Status.DELIVERED
    assert [e.kind for e in carrier.events.all()] == [K.DEPARTED, K.DELIVERED]  # in the order they happened
    assert departed.pk == carrier.events.first().pk


def test_an_exception_needs_a_reason_and_holds_until_a_later_event(consignment):
    carrier = legs_of(consignment)["carrier"]
    with pytest.raises(TrackingError) as refused:
        record(carrier, K.EXCEPTION, note="  ")
    assert refused.value.field == "note"
    assert not carrier.events.exists()

    record(carrier, K.DEPARTED, hours_ago=5)
    record(carrier, K.EXCEPTION, hours_ago=3, note="包装破损")
    assert status_of(carrier) == Leg.Status.EXCEPTION
    record(carrier, K.ARRIVED_AT_HUB, hours_ago=4)  # older than the exception: it still holds
    assert status_of(carrier) == Leg.Status.EXCEPTION

    record(carrier, K.OUT_FOR_DELIVERY, hours_ago=1)
    assert status_of(carrier) == Leg.Status.IN_PROGRESS


def test_the_same_event_posted_twice_is_recorded_once_and_the_buyer_told_once(
    consignment, django_capture_on_commit_callbacks
):
    carrier = legs_of(consignment)["carrier"]
    with django_capture_on_commit_callbacks(execute=True):
        first, first_created = record(carrier, K.DEPARTED, key="sf-123-departed")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, again_created = record(carrier, K.DEPARTED, key="sf-123-departed", hours_ago=0.5)

    assert (first_created, again_created) == (True, False)
    assert again.pk == first.pk
    assert again.occurred_at == first.occurred_at  # the repeat changed nothing
    assert carrier.events.count() == 1
    assert callbacks == []
    assert [m.to for m in mail.outbox] == [["buyer@example.cn"]]
    assert consignment.shop_order.number in mail.outbox[0].subject


def test_a_key_recorded_meanwhile_by_a_concurrent_request_returns_that_event(consignment):
    """The competitor's row is there when ours is inserted: the unique constraint refuses ours and the
    competitor's event is returned, with nothing else changed."""
    carrier = legs_of(consignment)["carrier"]
    competitor = TrackingEvent.objects.create(
        leg=carrier, kind=K.DEPARTED, occurred_at=at(2), idempotency_key="same"
    )

    event, created = record(carrier, K.DEPARTED, key="same", hours_ago=1)

    assert not created
    assert event.pk == competitor.pk
    assert TrackingEvent.objects.filter(leg=carrier).count() == 1
    assert status_of(carrier) == Leg.Status.ASSIGNED  # the loser of the race moved nothing
    assert status_of(consignment.shop_order) == S.PAID


def test_a_rejected_leg_gets_no_events(consignment):
    carrier = legs_of(consignment)["carrier"]
    Leg.objects.filter(pk=carrier.pk).update(status=Leg.Status.REJECTED)
    with pytest.raises(TrackingError):
        record(carrier, K.PICKED_UP)
    assert not carrier.events.exists()


@pytest.mark.parametrize(
    ("kind", "occurred_at", "key", "field"),
    [
        ("teleported", timezone.now(), "k", "kind"),
        (K.DEPARTED, datetime.datetime(2026, 5, 1, 9, 30), "k", "occurred_at"),  # noqa: DTZ001 (naive on purpose)
        (K.DEPARTED, timezone.now() + datetime.timedelta(days=1), "k", "occurred_at"),
        (K.DEPARTED, timezone.now(), "", "idempotency_key"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(consignment, kind, occurred_at, key, field):
    carrier = legs_of(consignment)["carrier"]
    with pytest.raises(TrackingError) as refused:
        tracking_event_record(leg=carrier, kind=kind, occurred_at=occurred_at, idempotency_key=key)
    assert refused.value.field == field
    assert not TrackingEvent.objects.exists()


def test_a_cancelled_shop_order_is_not_moved_by_tracking(consignment):
    shop_order = consignment.shop_order
    ShopOrder.objects.filter(pk=shop_order.pk).update(status=S.CANCELLED)
    record(legs_of(consignment)["first_mile"], K.PICKED_UP)
    assert status_of(shop_order) == S.CANCELLED


def test_accepting_a_leg(consignment):
    carrier = legs_of(consignment)["carrier"]
    other = LogisticsPartner.objects.get(code="coldchain-east")

    with pytest.raises(Leg.DoesNotExist):
        leg_accept(leg_id=carrier.pk, partner=other)
    assert status_of(carrier) == Leg.Status.ASSIGNED

    leg_accept(leg_id=carrier.pk, partner=carrier.partner)
    leg_accept(leg_id=carrier.pk, partner=carrier.partner)  # again: nothing changes
    assert status_of(carrier) == Leg.Status.ACCEPTED

    record(carrier, K.DEPARTED)
    with pytest.raises(TrackingError):
        leg_accept(leg_id=carrier.pk, partner=carrier.partner)
    assert status_of(carrier) == Leg.Status.IN_PROGRESS


def test_leg_status_is_derived_from_the_events_whatever_their_order():
    t = timezone.now()
    hour = datetime.timedelta(hours=1)
    assert leg_status_derived([]) is None
    assert leg_status_derived([(K.PICKED_UP, t, 1)]) == Leg.Status.IN_PROGRESS
    assert leg_status_derived([(K.DELIVERED, t, 1), (K.DEPARTED, t - hour, 2)]) == Leg.Status.DELIVERED
    assert leg_status_derived([(K.DELIVERED, t, 1), (K.EXCEPTION, t + hour, 2)]) == Leg.Status.DELIVERED
    assert leg_status_derived([(K.EXCEPTION, t, 1), (K.DEPARTED, t - hour, 2)]) == Leg.Status.EXCEPTION
    assert leg_status_derived([(K.EXCEPTION, t, 1), (K.DEPARTED, t + hour, 2)]) == Leg.Status.IN_PROGRESS


def test_a_leg_before_the_carriers_is_handed_on_never_signed_for(consignment, client):
    """Found walking the portal: the village point's "delivered" (its parcel handed to the county hub) read
    已签收, signed for by the buyer, on the buyer's order page while the parcel was still in the county."""
    legs = legs_of(consignment)
    handed_on, _created = record(legs["first_mile"], K.DELIVERED, hours_ago=3)

    [entry] = shop_orders_tracking([consignment.shop_order_id])[consignment.shop_order_id].entries
    assert entry.label == "已交接至下一站"
    assert status_of(consignment.shop_order) == S.HANDED_OVER  # not delivered
    assert notifications.tracking_notify(event_id=handed_on.pk)
    assert "已交接至下一站" in mail.outbox[-1].subject
    assert "已签收" not in mail.outbox[-1].subject + mail.outbox[-1].body

    record(legs["hub"], K.DELIVERED, hours_ago=2)
    record(legs["carrier"], K.DELIVERED, hours_ago=1)
    labels = [
        e.label for e in shop_orders_tracking([consignment.shop_order_id])[consignment.shop_order_id].entries
    ]
    assert labels == ["已交接至下一站", "已交接至下一站", "已签收"]
    assert status_of(consignment.shop_order) == S.DELIVERED
