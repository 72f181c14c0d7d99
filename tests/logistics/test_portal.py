"""The partner portal at /logistics/: signing in, the 403 page for an account of no partner, a partner's
own legs only, accepting, rejecting and reporting through the same services, a flat query count."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oscar.test.factories import UserFactory

from logistics.models import Consignment, Leg, LogisticsPartner, TrackingEvent
from logistics.routing import consignment_route
from marketplace.order.models import ShopOrder
from tests.form_pages import page_kept
from tests.logistics.conftest import paid_shop_order

pytestmark = pytest.mark.django_db

HOME = "/logistics/"


def partner_client(partner_code: str) -> Client:
    user = UserFactory()
    LogisticsPartner.objects.get(code=partner_code).users.add(user)
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def errors_of(response) -> list[str]:
    return (
        [str(m) for m in response.context["messages"] if m.level_tag == "error"] if response.context else []
    )


@pytest.fixture
def consignment(tea) -> Consignment:
    """Tea from Suichang to Shanghai: sp-datian → hub-suichang → express-national."""
    return consignment_route(shop_order_id=paid_shop_order(tea).pk)


@pytest.fixture
def first_mile(consignment) -> Leg:
    return consignment.legs.get(kind=Leg.Kind.FIRST_MILE)


def test_signing_in_is_asked_first(demo_logistics):
    response = Client().get(HOME)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/logistics/"


def test_an_account_of_no_partner_gets_a_403_page_that_says_so(demo_logistics):
    client = Client()
    client.force_login(UserFactory(email="buyer@example.cn"))
    response = client.get(HOME)
    assert response.status_code == 403
    assert 'data-testid="no-partner"' in response.content.decode()
    assert "buyer@example.cn" in response.content.decode()


def test_a_partner_sees_its_own_legs_grouped_and_no_one_elses(tea, consignment, first_mile):
    other_order = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    Leg.objects.filter(consignment=other_order, kind=Leg.Kind.FIRST_MILE).update(status=Leg.Status.ACCEPTED)
    client = partner_client("sp-datian")

    response = client.get(HOME)

    assert response.status_code == 200
    groups = {group["key"]: [leg.pk for leg in group["legs"]] for group in response.context["groups"]}
    other_first_mile = other_order.legs.get(kind=Leg.Kind.FIRST_MILE)
    assert groups == {
        "to_accept": [first_mile.pk],
        "to_pick_up": [other_first_mile.pk],
        "in_progress": [],
        "done": [],
    }
    page = response.content.decode()
    assert page.count('data-testid="leg-row"') == 2
    # The hub's and the carrier's legs of the same orders are not this partner's.
    hub_leg = consignment.legs.get(kind=Leg.Kind.HUB)
    assert f'data-leg-id="{hub_leg.pk}"' not in page
    assert partner_client("hub-suichang").get(HOME).context["groups"][0]["legs"][0].pk == hub_leg.pk


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("post", "accept/"), ("post", "reject/"), ("post", "events/")]
)
def test_another_partners_leg_is_404(consignment, method, suffix):
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    client = partner_client("sp-datian")
    data = (
        {"reason": "x", "kind": "picked_up", "note": "", "idempotency_key": "k"} if method == "post" else None
    )
    response = getattr(client, method)(f"{HOME}legs/{carrier.pk}/{suffix}", data)
    assert response.status_code == 404
    carrier.refresh_from_db()
    assert carrier.status == Leg.Status.ASSIGNED
    assert not TrackingEvent.objects.exists()


def test_the_leg_page_shows_the_parcel_and_the_buyers_address_only_to_the_carrier(consignment, first_mile):
    page = partner_client("sp-datian").get(f"{HOME}legs/{first_mile.pk}/").content.decode()
    assert consignment.shop_order.number in page
    assert 'data-testid="accept"' in page
    assert 'data-testid="reject"' in page
    assert "王小明" not in page

    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    page = partner_client("express-national").get(f"{HOME}legs/{carrier.pk}/").content.decode()
    assert 'data-testid="delivery-address"' in page
    assert "王小明" in page


def test_accepting_then_reporting_picked_up_hands_the_order_over(first_mile):
    client = partner_client("sp-datian")

    response = client.post(f"{HOME}legs/{first_mile.pk}/accept/", follow=True)
    assert any(first_mile.consignment.shop_order.number in m for m in messages_of(response))
    page = response.content.decode()
    assert 'data-testid="event-form"' in page
    assert 'data-testid="event-kind"' in page
    key = response.context["event_form"].initial["idempotency_key"]

    response = client.post(
        f"{HOME}legs/{first_mile.pk}/events/",
        {"kind": "picked_up", "note": "", "idempotency_key": key},
        follow=True,
    )

    assert response.status_code == 200
    assert any(first_mile.consignment.shop_order.number in m for m in messages_of(response))
    assert not errors_of(response)
    first_mile.refresh_from_db()
    assert first_mile.status == Leg.Status.IN_PROGRESS
    assert (
        ShopOrder.objects.get(pk=first_mile.consignment.shop_order_id).status == ShopOrder.Status.HANDED_OVER
    )
    assert 'data-testid="events"' in response.content.decode()
    assert response.context["event_form"].initial["kind"] == "delivered"  # what a first mile reports next

    # The same form sent twice (a double tap) records one event.
    client.post(
        f"{HOME}legs/{first_mile.pk}/events/", {"kind": "picked_up", "note": "", "idempotency_key": key}
    )
    assert first_mile.events.count() == 1


def test_an_exception_without_a_reason_is_not_recorded_and_says_why(first_mile):
    client = partner_client("sp-datian")
    response = client.post(
        f"{HOME}legs/{first_mile.pk}/events/",
        {"kind": "exception", "note": "", "idempotency_key": "k1"},
        follow=True,
    )
    assert errors_of(response)
    assert not first_mile.events.exists()


def test_rejecting_in_the_portal_re_routes_the_leg(consignment):
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    client = partner_client("express-national")

    refused = client.post(f"{HOME}legs/{carrier.pk}/reject/", {"reason": ""}, follow=True)
    assert errors_of(refused)
    carrier.refresh_from_db()
    assert carrier.status == Leg.Status.ASSIGNED

    response = client.post(f"{HOME}legs/{carrier.pk}/reject/", {"reason": "车辆故障"}, follow=True)

    assert response.redirect_chain[-1][0] == HOME
    assert any(consignment.shop_order.number in m for m in messages_of(response))
    carrier.refresh_from_db()
    assert carrier.status == Leg.Status.REJECTED
    assert (
        Leg.objects.get(consignment=consignment, kind="carrier", status="assigned").partner.code
        == "coldchain-east"
    )
    assert 'data-testid="leg-row"' not in response.content.decode()


def test_a_rejection_reason_refused_is_kept_on_the_legs_page(consignment):
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    client = partner_client("express-national")
    typed = "车辆故障，司机住院 <急>。" * 40  # over 500 characters

    response = client.post(f"{HOME}legs/{carrier.pk}/reject/", {"reason": typed})

    html = page_kept(response, form="reject_form", typed=[typed])
    assert '<details class="c-danger" open>' in html
    assert 'data-testid="reject-form"' in html
    carrier.refresh_from_db()
    assert carrier.status == Leg.Status.ASSIGNED
    assert consignment.legs.count() == 3


def test_an_event_refused_keeps_the_note_the_kind_and_the_key(first_mile):
    client = partner_client("sp-datian")
    client.post(f"{HOME}legs/{first_mile.pk}/accept/")
    typed = "包裹外箱破损 <第二件>，已拍照。" * 60  # over 1,000 characters

    response = client.post(
        f"{HOME}legs/{first_mile.pk}/events/",
        {"kind": "exception", "note": typed, "idempotency_key": "key-桃源-1"},
    )

    html = page_kept(response, form="event_form", typed=[typed])
    assert '<option value="exception" selected>' in html
    assert 'value="key-桃源-1"' in html  # sent again once corrected, it is still the one event
    assert not TrackingEvent.objects.exists()
    first_mile.refresh_from_db()
    assert first_mile.status == Leg.Status.ACCEPTED


def test_an_event_the_leg_refuses_answers_the_legs_page_with_why(first_mile):
    client = partner_client("sp-datian")
    client.post(f"{HOME}legs/{first_mile.pk}/reject/", {"reason": "人手不够"})
    first_mile.refresh_from_db()
    assert first_mile.status == Leg.Status.REJECTED  # meanwhile, from another phone

    response = client.post(
        f"{HOME}legs/{first_mile.pk}/events/",
        {"kind": "exception", "note": "收件人拒收 <破损>", "idempotency_key": "k-second"},
    )

    assert response.status_code == 409
    assert response.context["event_form"].non_field_errors()
    assert errors_of(response)
    assert not TrackingEvent.objects.exists()


def test_the_home_page_query_count_does_not_grow_with_the_legs(tea):
    client = partner_client("express-national")
    consignment_route(shop_order_id=paid_shop_order(tea).pk)
    with CaptureQueriesContext(connection) as one:
        client.get(HOME)

    for _ in range(4):
        consignment_route(shop_order_id=paid_shop_order(tea).pk)
    express_legs = list(Leg.objects.filter(partner__code="express-national").values_list("pk", flat=True))
    Leg.objects.filter(pk__in=express_legs[:2]).update(status=Leg.Status.IN_PROGRESS)
    with CaptureQueriesContext(connection) as many:
        response = client.get(HOME)

    assert response.content.decode().count('data-testid="leg-row"') == 5
    assert len(many.captured_queries) <= len(one.captured_queries)
