"""Order emails go once, after commit, to the right people; a rolled-back checkout sends nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.order.cancellation import shop_order_cancel
from marketplace.payments.services import payment_sync
from tests.checkout.conftest import ADDRESS
from tests.payments.conftest import card_from_browser

Order = get_model("order", "Order")
StockRecord = get_model("partner", "StockRecord")

pytestmark = pytest.mark.django_db


@pytest.fixture
def farmers(basket_from_two_shops):
    peaches, tea = basket_from_two_shops
    users = {}
    for product, email in ((peaches, "farmer.peach@example.cn"), (tea, "farmer.tea@example.cn")):
        user = get_user_model().objects.create_user(email, email, "pw")
        product.shop.users.add(user)
        users[product.shop.pk] = email
    return users


def place(client, localstripe, card: str, capture):
    with capture(execute=True):
        client.post(
            reverse("checkout:index"), {**ADDRESS, "payment_method": card_from_browser(localstripe, card)}
        )


def test_a_paid_order_mails_the_buyer_once_and_each_shop_its_own_part(
    client, stripe_settings, localstripe, farmers, mailoutbox, django_capture_on_commit_callbacks
):
    place(client, localstripe, "4242424242424242", django_capture_on_commit_callbacks)
    order = Order.objects.get()

    by_recipient = {tuple(mail.to): mail for mail in mailoutbox}
    assert set(by_recipient) == {
        ("buyer@example.cn",),
        ("farmer.peach@example.cn",),
        ("farmer.tea@example.cn",),
    }
    buyer_mail = by_recipient[("buyer@example.cn",)]
    assert str(order.number) in buyer_mail.subject
    assert "阳山水蜜桃" in buyer_mail.body
    assert "龙谷丽人茶" in buyer_mail.body
    peach_mail = by_recipient[("farmer.peach@example.cn",)].body
    assert "阳山水蜜桃" in peach_mail
    assert "龙谷丽人茶" not in peach_mail  # a shop hears only of its own part

    with django_capture_on_commit_callbacks(execute=True):
        payment_sync(intent_id=order.stripe_payments.get().intent_id)  # a late webhook
    assert len(mailoutbox) == 3


def test_a_declined_card_mails_the_buyer_that_payment_failed(
    client, stripe_settings, localstripe, farmers, mailoutbox, django_capture_on_commit_callbacks
):
    place(client, localstripe, "4000000000000341", django_capture_on_commit_callbacks)
    assert [mail.to for mail in mailoutbox] == [["buyer@example.cn"]]
    assert "您的银行卡被拒绝" in mailoutbox[0].body  # the reason in Chinese, not Stripe's English


def test_a_refund_is_mailed_to_the_buyer(
    client, stripe_settings, localstripe, farmers, mailoutbox, django_capture_on_commit_callbacks
):
    place(client, localstripe, "4242424242424242", django_capture_on_commit_callbacks)
    tea_part = Order.objects.get().shop_orders.get(shop__name="龙谷茶舍")
    with django_capture_on_commit_callbacks(execute=True):
        shop_order_cancel(shop_order_id=tea_part.pk, reason="茶叶受潮")
    refund_mail = mailoutbox[-1]
    assert refund_mail.to == ["buyer@example.cn"]
    assert "茶叶受潮" in refund_mail.body


def test_a_sold_out_checkout_sends_nothing(
    client,
    stripe_settings,
    localstripe,
    basket_from_two_shops,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    peaches, _tea = basket_from_two_shops
    StockRecord.objects.filter(product=peaches).update(num_allocated=5)
    place(client, localstripe, "4242424242424242", django_capture_on_commit_callbacks)
    assert not Order.objects.exists()
    assert mailoutbox == []


def test_mails_are_plain_text_with_typed_names_as_typed_and_one_line_subjects(
    client,
    stripe_settings,
    localstripe,
    farmers,
    basket_from_two_shops,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    peaches, tea = basket_from_two_shops
    peaches.shop.name = "桃&源 <果园>"
    peaches.shop.save()
    tea.title = 'Tea "A&B" <b>'
    tea.save()

    place(client, localstripe, "4242424242424242", django_capture_on_commit_callbacks)

    confirmation = next(mail for mail in mailoutbox if mail.to == ["buyer@example.cn"])
    assert "桃&源 <果园>" in confirmation.body
    assert "&amp;" not in confirmation.body
    assert "&lt;" not in confirmation.body
    assert all("\n" not in mail.subject for mail in mailoutbox)
    assert all(mail.extra_headers["Message-ID"].startswith("<") for mail in mailoutbox)
