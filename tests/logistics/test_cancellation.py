"""A paid shop order cancelled before it left the shop calls off the legs routed for it: the partners can
no longer take or track the parcel, their day slots are free again, and the buyer's tracking shows no leg
of it. Found walking the partner portal: a refunded order still waited there under 待接单, and a pick-up
recorded on it was sent to the buyer."""

import datetime

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from rest_framework.test import APIClient

from logistics.cancellation import consignment_cancel
from logistics.models import Consignment, Leg, LegEvent, PartnerDayLoad, TrackingEvent
from logistics.partner_selectors import portal_leg_groups
from logistics.selectors import shop_orders_tracking
from logistics.services import partner_token_issue
from logistics.tracking import TrackingError, leg_accept, tracking_event_record
from marketplace.order.cancellation import shop_order_cancel
from marketplace.order.models import ShopOrder
from tests.checkout.conftest import ADDRESS
from tests.payments.conftest import card_from_browser

Order = get_model("order", "Order")
L = Leg.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(client, stripe_settings, localstripe, peaches, django_capture_on_commit_callbacks) -> Consignment:
    """The peaches bought and paid by card through the checkout; routing runs on the payment's commit."""
    client.post(reverse("basket:add", kwargs={"pk": peaches.pk}), {"quantity": 1})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("checkout:index"),
            {**ADDRESS, "payment_method": card_from_browser(localstripe, "4242424242424242")},
        )
    consignment = Consignment.objects.get(shop_order__order=Order.objects.get())
    assert consignment.status == Consignment.Status.ROUTED
    return consignment


def booked(legs: list[Leg]) -> dict[tuple[int, datetime.date], int]:
    return {
        (leg.partner_id, leg.day): PartnerDayLoad.objects.filter(
            partner_id=leg.partner_id, day=leg.day
        ).aggregate(n=Sum("booked"))["n"]
        for leg in legs
    }


def test_cancelling_a_routed_paid_shop_order_calls_off_every_leg(routed, django_capture_on_commit_callbacks):
    legs = list(routed.legs.order_by("sequence"))
    assert len(legs) >= 2
    first = legs[0]
    leg_accept(leg_id=first.pk, partner=first.partner)  # the village point had already said yes
    before = booked(legs)

    with django_capture_on_commit_callbacks(execute=True):
        shop_order_cancel(shop_order_id=routed.shop_order_id, reason="桃子被冰雹打坏，无法发货")

    routed.refresh_from_db()
    assert routed.shop_order.status == ShopOrder.Status.REFUNDED
    assert routed.status == Consignment.Status.CANCELLED
    assert [leg.status for leg in routed.legs.order_by("sequence")] == [L.CANCELLED] * len(legs)
    # Each move recorded with its reason (and, for a partner with a webhook, sent to it from there).
    moves = LegEvent.objects.filter(leg__in=legs, to_status=L.CANCELLED)
    assert sorted((m.leg_id, m.from_status) for m in moves) == sorted(
        (leg.pk, L.ACCEPTED if leg == first else L.ASSIGNED) for leg in legs
    )
    assert {m.reason for m in moves} == {"该店铺订单已取消。"}
    # Each partner's slot for that day is free again.
    assert booked(legs) == {key: n - 1 for key, n in before.items()}
    # Nobody can take it or report it any more, and it is off the partners' "to accept" lists.
    with pytest.raises(TrackingError):
        leg_accept(leg_id=legs[1].pk, partner=legs[1].partner)
    with pytest.raises(TrackingError, match="请勿承运"):
        tracking_event_record(
            leg=first,
            kind=TrackingEvent.Kind.PICKED_UP,
            occurred_at=timezone.now(),
            idempotency_key="pick-up-after-cancel",
        )
    assert not TrackingEvent.objects.exists()
    for leg in legs:
        on_portal = [shown for group in portal_leg_groups(partner=leg.partner) for shown in group.legs]
        assert leg not in on_portal
    # The buyer's tracking shows no leg of a parcel that will never travel.
    tracking = shop_orders_tracking([routed.shop_order_id])[routed.shop_order_id]
    assert (tracking.legs, tracking.entries) == ([], [])
    assert tracking.status == Consignment.Status.CANCELLED


def test_calling_off_twice_changes_nothing_and_a_live_shop_order_is_never_called_off(
    routed, django_capture_on_commit_callbacks
):
    assert consignment_cancel(shop_order_id=routed.shop_order_id) is None  # still paid: left alone
    routed.refresh_from_db()
    assert routed.status == Consignment.Status.ROUTED
    assert not LegEvent.objects.filter(to_status=L.CANCELLED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        shop_order_cancel(shop_order_id=routed.shop_order_id, reason="果园缺货")
    moves = LegEvent.objects.filter(to_status=L.CANCELLED).count()
    assert moves == routed.legs.count()
    again = consignment_cancel(shop_order_id=routed.shop_order_id)
    assert again is not None
    assert again.status == Consignment.Status.CANCELLED
    assert LegEvent.objects.filter(to_status=L.CANCELLED).count() == moves


def test_the_api_refuses_a_called_off_leg_with_the_reason(routed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        shop_order_cancel(shop_order_id=routed.shop_order_id, reason="桃子被冰雹打坏，无法发货")
    carrier_leg = routed.legs.get(kind=Leg.Kind.CARRIER)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {partner_token_issue(partner=carrier_leg.partner, label='test')}"
    )
    base = f"/api/logistics/legs/{carrier_leg.pk}/"
    assert client.get(base).json()["status"] == "cancelled"
    assert client.post(f"{base}accept/").status_code == 409
    refused = client.post(
        f"{base}events/",
        {"kind": "picked_up", "occurred_at": timezone.now().isoformat(), "idempotency_key": "k-1"},
        format="json",
    )
    assert refused.status_code == 409
    assert "请勿承运" in refused.json()["detail"]
    assert not TrackingEvent.objects.exists()
