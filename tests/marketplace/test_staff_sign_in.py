"""Staff (the association's people are staff) sign in on the storefront's form like everyone else: Oscar would
send them to its dashboard, which this site does not mount (a server error)."""

import pytest
from django.conf import settings
from django.test import Client
from oscar.test.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_staff_member_signing_in_lands_on_the_site():
    UserFactory(email="staff@example.cn", password="a-long-pass-2026", is_staff=True)
    client = Client(raise_request_exception=False)

    response = client.post(
        "/accounts/login/",
        {"login-username": "staff@example.cn", "login-password": "a-long-pass-2026", "login_submit": "1"},
    )

    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
