"""Paying routes the parcel; what is stuck is routed again; overdue legs are flagged; buyers and farmers see
the route and its tracking; the association routes by hand in the admin."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import UserFactory

from logistics.models import Consignment, Leg, LogisticsPartner, PartnerDayLoad, TrackingEvent
from logistics.operations import consignments_stuck_route, legs_overdue_flag
from logistics.routing import consignment_route
from tests.checkout.conftest import ADDRESS
from tests.factories import association_member
from tests.logistics.conftest import URUMQI, paid_shop_order
from tests.payments.conftest import card_from_browser

pytestmark = pytest.mark.django_db


def test_paying_an_order_routes_each_shop_order_after_commit(
    client,
    stripe_settings,
    localstripe,
    peaches,
    tea,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    for product in (peaches, tea):
        client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("checkout:index"),
            {**ADDRESS, "payment_method": card_from_browser(localstripe, "4242424242424242")},
        )
    assert response.status_code == 302
    routes = {
        c.shop_order.shop.name: [leg.partner.code for leg in c.legs.all()] for c in Consignment.objects.all()
    }
    assert routes == {
        peaches.shop.name: ["sp-taoyuan", "hub-yangshan", "coldchain-east"],
        tea.shop.name: ["sp-datian", "hub-suichang", "express-national"],
    }


def test_the_stuck_orders_command_routes_lost_and_waiting_orders(peaches, tea):
    lost = paid_shop_order(tea)  # paid, but its routing task never ran
    waiting = paid_shop_order(peaches, address=URUMQI)
    assert consignment_route(shop_order_id=waiting.pk).status == Consignment.Status.NEEDS_ROUTING
    # A western cold-chain carrier comes back.
    LogisticsPartner.objects.filter(code="coldchain-west").update(active=True)

    call_command("logistics_route_stuck")

    assert Consignment.objects.get(shop_order=lost).status == Consignment.Status.ROUTED
    waiting_route = Consignment.objects.get(shop_order=waiting)
    assert waiting_route.status == Consignment.Status.ROUTED
    assert waiting_route.legs.get(kind="carrier").partner.code == "coldchain-west"
    assert len(waiting_route.decisions) == 2  # the first attempt's reasons are kept
    assert consignments_stuck_route() == {}


def test_legs_with_no_news_past_their_promise_are_flagged_once(tea):
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    Leg.objects.filter(consignment=consignment).update(day=timezone.localdate() - datetime.timedelta(days=10))
    delivered = consignment.legs.get(kind="first_mile")
    TrackingEvent.objects.create(
        leg=delivered, kind="delivered", occurred_at=timezone.now(), idempotency_key="k1"
    )

    assert legs_overdue_flag() == 2
    assert legs_overdue_flag() == 0
    assert set(Leg.objects.exclude(overdue_since=None).values_list("kind", flat=True)) == {"hub", "carrier"}


def test_the_buyer_and_the_farmer_see_the_route_and_its_tracking(client, tea):
    buyer = UserFactory()
    shop_order = paid_shop_order(tea)
    shop_order.order.user = buyer
    shop_order.order.save(update_fields=["user"])
    consignment = consignment_route(shop_order_id=shop_order.pk)
    first = consignment.legs.get(kind="first_mile")
    TrackingEvent.objects.create(
        leg=first, kind="picked_up", occurred_at=timezone.now(), note="村口揽收", idempotency_key="e1"
    )

    client.force_login(buyer)
    page = client.get(reverse("customer:order", kwargs={"order_number": shop_order.order.number}))
    content = page.content.decode()
    assert 'data-testid="tracking"' in content
    assert "大田村赶街服务站" in content
    assert "村口揽收" in content

    farmer = UserFactory()
    tea.shop.users.add(farmer)
    client.force_login(farmer)
    console = client.get(reverse("console:order", kwargs={"number": shop_order.number})).content.decode()
    assert "村口揽收" in console


def test_the_association_routes_a_waiting_order_by_hand_among_the_candidates(client, peaches):
    waiting = consignment_route(shop_order_id=paid_shop_order(peaches, address=URUMQI).pk)
    west = LogisticsPartner.objects.get(code="coldchain-west")
    LogisticsPartner.objects.filter(pk=west.pk).update(active=True)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:logistics_consignment_route", args=[waiting.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "does not serve" in page.content.decode()  # the recorded reasons are shown

    response = client.post(url, {"first_mile": "", "hub": "", "carrier": str(west.pk)})

    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == Consignment.Status.ROUTED
    assert waiting.legs.get(kind="carrier").partner == west
    assert waiting.decisions[-1]["by"] == f"user {staff.pk}"
    assert PartnerDayLoad.objects.get(partner=west).booked == 1


def test_the_association_is_not_alerted_again_while_the_reason_stays_the_same(
    peaches, django_capture_on_commit_callbacks
):
    from django.core import mail

    association_member(email="association@example.cn")
    waiting = paid_shop_order(peaches, address=URUMQI)
    for _ in range(3):  # the first routing, then two runs of the stuck-orders task
        with django_capture_on_commit_callbacks(execute=True):
            consignment_route(shop_order_id=waiting.pk)
    assert len(mail.outbox) == 1
