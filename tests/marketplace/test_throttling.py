"""Guessing is throttled: five wrong passwords lock sign-in for that account from that address (the right
password then too) until staff unlock it; forms anyone can post answer 429 past their rate."""

from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LOGIN = "customer:login"


def sign_in(client, email: str, password: str):
    return client.post(
        reverse(LOGIN), {"login-username": email, "login-password": password, "login_submit": "1"}
    )


@pytest.fixture
def buyer():
    return get_user_model().objects.create_user("buyer", "buyer@example.cn", "right-password-2026")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, buyer):
    for _ in range(4):
        assert sign_in(client, buyer.email, "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, buyer.email, "wrong").status_code == 429  # the fifth: locked

    locked = sign_in(client, buyer.email, "right-password-2026")

    assert locked.status_code == 429
    assert 'data-testid="locked-out"' in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Staff unlock it (the admin's access attempts, or axes_reset_username): the right password works.
    assert AccessAttempt.objects.filter(username=buyer.email).exists()
    reset(username=buyer.email)
    assert sign_in(client, buyer.email, "right-password-2026").status_code == 302
    assert int(client.session["_auth_user_id"]) == buyer.pk


def test_a_right_password_before_the_limit_resets_the_count(client, buyer):
    for _ in range(4):
        sign_in(client, buyer.email, "wrong")
    assert sign_in(client, buyer.email, "right-password-2026").status_code == 302
    client.logout()

    for _ in range(4):
        sign_in(client, buyer.email, "wrong")

    assert sign_in(client, buyer.email, "right-password-2026").status_code == 302


def test_password_reset_mails_are_rate_limited(client, buyer):
    answers = [client.post(reverse("password-reset"), {"email": buyer.email}).status_code for _ in range(6)]

    assert answers == [302] * 5 + [429]
    assert len(mail.outbox) == 5


def test_listing_reports_are_rate_limited(client, buyer):
    client.force_login(buyer)
    products = [ProductFactory(stock=(Decimal("10.00"), 5)) for _ in range(21)]

    answers = [
        client.post(
            reverse("storefront:listing-report", kwargs={"pk": product.pk}), {"reason": "other", "text": "x"}
        )
        for product in products
    ]

    assert [a.status_code for a in answers][-1] == 429
    assert "rate-limited" in answers[-1].content.decode()
