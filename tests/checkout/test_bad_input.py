"""Bad input at the basket and checkout gets a clear answer and changes nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model

from marketplace.payments.models import Payment
from tests.checkout.conftest import ADDRESS
from tests.factories import ProductFactory
from tests.payments.conftest import card_from_browser

Basket = get_model("basket", "Basket")
Line = get_model("basket", "Line")
Order = get_model("order", "Order")

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("quantity", ["0", "-1", "1000000000", "abc", ""])
def test_impossible_quantities_are_refused_with_a_message(client, quantity):
    product = ProductFactory(stock=(Decimal("20.00"), 5))
    response = client.post(
        reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": quantity}, follow=True
    )
    assert response.status_code == 200
    assert not Line.objects.filter(product=product).exists()
    assert list(response.context["messages"]), "no message for the buyer"


def test_a_tampered_basket_line_id_changes_nothing(client):
    mine, theirs = ProductFactory(stock=(Decimal("20.00"), 5)), ProductFactory(stock=(Decimal("20.00"), 5))
    client.post(reverse("basket:add", kwargs={"pk": mine.pk}), {"quantity": 1})
    other_basket = Basket.objects.create()
    other_basket.strategy = Default()
    other_line, _ = other_basket.add_product(theirs, 1)
    my_line = Line.objects.get(product=mine)
    # Oscar's basket formset posts line ids: smuggle in the other basket's line.
    management = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    response = client.post(
        reverse("basket:summary"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(other_line.pk),
            "form-0-quantity": "7",
        },
    )
    assert response.status_code in (200, 302)
    other_line.refresh_from_db()
    my_line.refresh_from_db()
    assert (other_line.quantity, my_line.quantity) == (1, 1)

    # The same form with the buyer's own line does change it: the refusal above is not a typo in the POST.
    client.post(
        reverse("basket:summary"), {**management, "form-0-id": str(my_line.pk), "form-0-quantity": "3"}
    )
    my_line.refresh_from_db()
    assert my_line.quantity == 3


def test_a_replayed_checkout_post_places_no_second_order(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    data = {**ADDRESS, "payment_method": card_from_browser(localstripe, "4242424242424242")}
    first = client.post(reverse("checkout:index"), data)
    second = client.post(reverse("checkout:index"), data)
    assert first.status_code == 302
    assert second.status_code == 302
    assert second.url == reverse("basket:summary")  # the basket was submitted: nothing left to buy
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1


def test_paying_another_buyers_order_is_not_found(
    client, stripe_settings, localstripe, basket_from_two_shops
):
    client.post(
        reverse("checkout:index"),
        {**ADDRESS, "payment_method": card_from_browser(localstripe, "4000000000000341")},
    )
    order = Order.objects.get()
    stranger = type(client)()
    response = stranger.post(
        reverse("checkout:pay", kwargs={"number": order.number}),
        {"payment_method": card_from_browser(localstripe, "4242424242424242")},
    )
    assert response.status_code == 404
    assert not Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).exists()
