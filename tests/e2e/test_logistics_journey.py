"""A parcel of Yangshan peaches from payment to the buyer's door, on phones: a signed-in buyer pays with a
card and the order is routed (service point → county hub → cold-chain carrier); the Taoyuan service point
accepts its leg and reports the pick-up in the partner portal; the hub and the carrier report through the
partner API; the buyer follows it all on the order page."""

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
from django.contrib.auth import get_user_model
from oscar.core.loading import get_model
from playwright.sync_api import expect

from logistics.models import Consignment, Leg, LogisticsPartner, TrackingEvent
from logistics.services import partner_token_issue
from marketplace.order.models import ShopOrder
from tests.e2e.conftest import Visit
from tests.e2e.test_checkout_journey import add_to_basket, shop_with_stripe  # noqa: F401
from tests.payments.conftest import localstripe  # noqa: F401  (the fake Stripe server fixture)

Order = get_model("order", "Order")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.e2e

SHOP_CODE = "taoyuan-peach-farm"
BUYER_EMAIL = "buyer@demo.xiangwei.cn"
BUYER_PASSWORD = "demo-buyer-2026"  # fixtures/accounts.yaml: the demo's documented passwords
PORTAL_EMAIL = "sp.taoyuan@demo.xiangwei.cn"
PORTAL_PASSWORD = "demo-logistics-2026"
ROUTE = ["sp-taoyuan", "hub-yangshan", "coldchain-east"]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def check_page(visit: Visit, label: str) -> None:
    """Screenshot first (a failure leaves a picture), then: no 5xx so far, no sideways scroll at 390 px."""
    visit.screenshot(label)
    visit.assert_no_server_error()
    visit.assert_no_horizontal_scroll()


def submit(visit: Visit, locator) -> None:
    """Click a button or link that loads a new page, and wait for that page."""
    with visit.page.expect_navigation():
        locator.click()


def sign_in(visit: Visit, base: str, *, email: str, password: str, next_path: str) -> None:
    page = visit.page
    assert page.goto(f"{base}/accounts/login/?next={next_path}").status == 200
    page.fill("input[name=login-username]", email)
    page.fill("input[name=login-password]", password)
    page.locator("button[name=login_submit]").click()
    page.wait_for_url(f"{base}{next_path}")


def pay_by_card(visit: Visit) -> None:
    """The delivery address in Pudong and the 4242 card in (localstripe's) Stripe.js; the signed-in
    buyer's email is already filled in."""
    page = visit.page
    for field_name, value in {
        "recipient": "林小雨",
        "phone": "13800138000",
        "province": "上海市",
        "city": "上海市",
        "county": "浦东新区",
        "street": "世纪大道 100 号",
    }.items():
        page.fill(f"#id_{field_name}", value)
    card = {
        "number": "4242424242424242",
        "exp_month": "12",
        "exp_year": "30",
        "cvc": "123",
        "postal_code": "200000",
    }
    inputs = page.locator("#card-element input")
    inputs.first.wait_for()
    for index in range(inputs.count()):
        inputs.nth(index).fill(card.get(inputs.nth(index).get_attribute("placeholder"), ""))
    with page.expect_navigation(url="**/thank-you/", timeout=30_000):
        page.locator("[data-testid=place-order]").click()


class PartnerApi:
    """A logistics partner's system talking to the partner API with its token."""

    def __init__(self, base: str, partner: LogisticsPartner):
        self.base = f"{base}/api/logistics/legs"
        self.headers = {"Authorization": f"Token {partner_token_issue(partner=partner, label='e2e')}"}

    def accept(self, leg: Leg) -> requests.Response:
        return requests.post(f"{self.base}/{leg.pk}/accept/", headers=self.headers, timeout=15)

    def event(self, leg: Leg, kind: str, *, note: str = "", key: str | None = None) -> requests.Response:
        payload = {
            "kind": kind,
            "occurred_at": datetime.datetime.now(SHANGHAI).isoformat(),  # e.g. 2026-07-15T09:30:00.1+08:00
            "note": note,
            "idempotency_key": key or uuid.uuid4().hex,
        }
        return requests.post(f"{self.base}/{leg.pk}/events/", json=payload, headers=self.headers, timeout=15)


def test_a_paid_peach_order_is_routed_tracked_by_its_partners_and_followed_by_the_buyer(
    shop_with_stripe,  # noqa: F811  (imported from the checkout journey)
    open_visit,
):
    base = shop_with_stripe
    shop = Partner.objects.get(code=SHOP_CODE)
    peaches = Product.objects.storefront().filter(shop=shop, perishable=True).first()
    partners = {p.code: p for p in LogisticsPartner.objects.filter(code__in=ROUTE)}

    # 1. The demo buyer signs in on a phone and pays for a box of peaches, to be delivered in Pudong.
    buyer = open_visit("phone", "logistics-buyer")
    sign_in(buyer, base, email=BUYER_EMAIL, password=BUYER_PASSWORD, next_path="/")
    add_to_basket(buyer, base, peaches)
    assert buyer.page.goto(f"{base}/checkout/").status == 200
    buyer.screenshot("checkout")
    pay_by_card(buyer)
    check_page(buyer, "thank-you")

    order = Order.objects.get(user=get_user_model().objects.get(email=BUYER_EMAIL))
    shop_order = ShopOrder.objects.get(order=order, shop=shop)
    assert shop_order.status == ShopOrder.Status.PAID
    # Paying routed it, on commit: first mile from the village, the county hub, then a cold-chain carrier.
    consignment = Consignment.objects.get(shop_order=shop_order)
    assert consignment.status == Consignment.Status.ROUTED
    assert consignment.needs_cold_chain
    legs = list(consignment.legs.select_related("partner").order_by("sequence"))
    assert [leg.partner.code for leg in legs] == ROUTE
    assert [leg.kind for leg in legs] == [Leg.Kind.FIRST_MILE, Leg.Kind.HUB, Leg.Kind.CARRIER]
    assert {leg.status for leg in legs} == {Leg.Status.ASSIGNED}
    first_mile, hub, carrier = legs

    # The order page shows the route before any news of the parcel.
    order_url = f"{base}/accounts/orders/{order.number}/"
    assert buyer.page.goto(order_url).status == 200
    tracking = buyer.page.locator("[data-testid=buyer-shop-order]", has_text=shop_order.number).locator(
        "[data-testid=tracking]"
    )
    for code in ROUTE:
        expect(tracking).to_contain_text(partners[code].name)
    expect(tracking.locator("[data-testid=tracking-events]")).to_have_count(0)
    check_page(buyer, "order-routed")

    # 2. The Taoyuan service point's man signs in to the portal and finds the leg waiting for him.
    portal = open_visit("phone", "logistics-portal")
    page = portal.page
    sign_in(portal, base, email=PORTAL_EMAIL, password=PORTAL_PASSWORD, next_path="/logistics/")
    expect(page.locator("[data-testid=partner-name]")).to_have_text(partners["sp-taoyuan"].name)
    row = page.locator(f"[data-testid=group-to_accept] [data-testid=leg-row][data-leg-id='{first_mile.pk}']")
    expect(row).to_contain_text(shop_order.number)
    check_page(portal, "home")

    submit(portal, row.locator("a"))
    assert page.url == f"{base}/logistics/legs/{first_mile.pk}/"
    expect(page.locator("[data-testid=event-form]")).to_have_count(0)  # nothing to report before accepting
    check_page(portal, "leg")

    submit(portal, page.locator("[data-testid=accept]"))
    expect(page.locator("[data-testid=messages]")).to_contain_text(shop_order.number)
    expect(page.locator("[data-testid=accept]")).to_have_count(0)
    check_page(portal, "accepted")
    assert Leg.objects.get(pk=first_mile.pk).status == Leg.Status.ACCEPTED

    form = page.locator("[data-testid=event-form]")
    form.locator("[data-testid=event-kind]").select_option("picked_up")
    form.locator("[data-testid=event-note]").fill("已从周家桃园取件，冷藏箱装车")
    submit(portal, form.locator("[data-testid=event-submit]"))
    expect(page.locator("[data-testid=messages]")).to_contain_text(shop_order.number)
    expect(page.locator("[data-testid=events] li")).to_have_count(1)
    check_page(portal, "picked-up")
    event = TrackingEvent.objects.get(leg=first_mile)
    assert (event.kind, event.note) == (TrackingEvent.Kind.PICKED_UP, "已从周家桃园取件，冷藏箱装车")
    assert Leg.objects.get(pk=first_mile.pk).status == Leg.Status.IN_PROGRESS
    assert ShopOrder.objects.get(pk=shop_order.pk).status == ShopOrder.Status.HANDED_OVER

    # The form offers the next usual report (handed on to the hub) with a new key; he records it.
    expect(form.locator("[data-testid=event-kind]")).to_have_value("delivered")
    submit(portal, form.locator("[data-testid=event-submit]"))
    expect(page.locator("[data-testid=events] li")).to_have_count(2)
    check_page(portal, "handed-to-hub")
    assert Leg.objects.get(pk=first_mile.pk).status == Leg.Status.DELIVERED

    assert page.goto(f"{base}/logistics/").status == 200
    expect(
        page.locator(f"[data-testid=group-done] [data-testid=leg-row][data-leg-id='{first_mile.pk}']")
    ).to_be_visible()
    check_page(portal, "home-done")

    # 3. The hub and the carrier report through the partner API, each with its own token.
    hub_api = PartnerApi(base, partners["hub-yangshan"])
    assert hub_api.accept(hub).status_code == 200
    for kind in ("arrived_at_hub", "departed", "delivered"):
        response = hub_api.event(hub, kind)
        assert response.status_code == 201, response.text

    carrier_api = PartnerApi(base, partners["coldchain-east"])
    assert carrier_api.accept(carrier).status_code == 200
    # The hub's token does not reach the carrier's leg.
    assert hub_api.event(carrier, "picked_up").status_code == 404
    for kind in ("picked_up", "out_for_delivery"):
        response = carrier_api.event(carrier, kind)
        assert response.status_code == 201, response.text
    assert ShopOrder.objects.get(pk=shop_order.pk).status == ShopOrder.Status.IN_TRANSIT

    key = f"e2e-delivered-{carrier.pk}"
    delivered = carrier_api.event(carrier, "delivered", note="本人签收", key=key)
    assert delivered.status_code == 201, delivered.text
    assert delivered.json()["leg_status"] == Leg.Status.DELIVERED
    again = carrier_api.event(carrier, "delivered", note="本人签收", key=key)  # the carrier's retry
    assert again.status_code == 200, again.text
    assert again.json()["id"] == delivered.json()["id"]
    assert TrackingEvent.objects.filter(leg=carrier, kind=TrackingEvent.Kind.DELIVERED).count() == 1
    assert TrackingEvent.objects.filter(leg__consignment=consignment).count() == 8
    assert Consignment.objects.get(pk=consignment.pk).status == Consignment.Status.DELIVERED
    assert ShopOrder.objects.get(pk=shop_order.pk).status == ShopOrder.Status.DELIVERED

    # 4. The buyer opens the order again and follows the parcel from the village to the door.
    assert buyer.page.goto(order_url).status == 200
    events = tracking.locator("[data-testid=tracking-events] li")
    expect(events).to_have_count(8)
    expect(events.first).to_contain_text(partners["sp-taoyuan"].name)
    expect(events.first).to_contain_text("已从周家桃园取件")
    expect(events.last).to_contain_text(partners["coldchain-east"].name)
    expect(events.last).to_contain_text("本人签收")
    for code in ROUTE:
        expect(tracking.locator(".tracking__route")).to_contain_text(partners[code].name)
    check_page(buyer, "order-delivered")
