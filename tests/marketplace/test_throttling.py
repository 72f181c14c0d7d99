"""Guessing is throttled: five wrong passwords lock sign-in for that account from that address (the right
password then too) until staff unlock it; forms anyone can post answer 429 past their rate."""

from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
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


# --- a form the CSRF check refuses -----------------------------------------------------------------


def test_a_form_from_an_expired_page_gets_a_page_in_the_visitors_language_and_changes_nothing(client):
    peach = ProductFactory(stock=(Decimal("168.00"), 10))
    add = reverse("basket:add", kwargs={"pk": peach.pk})
    for language, words in (("zh-hans", "页面已过期"), ("en", "This page had expired")):
        browser = Client(enforce_csrf_checks=True)
        browser.cookies["django_language"] = language
        response = browser.post(add, {"quantity": 1, "csrfmiddlewaretoken": "a" * 64})
        assert response.status_code == 403
        html = response.content.decode()
        assert words in html
        assert 'data-testid="csrf-failure"' in html
        assert "CSRF verification failed" not in html  # not Django's technical page
        assert browser.get(reverse("basket:summary")).context["basket"].num_lines == 0


def test_a_json_client_refused_by_the_csrf_check_gets_json():
    response = Client(enforce_csrf_checks=True).post(
        reverse("basket:add", kwargs={"pk": 1}), {"quantity": 1}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
