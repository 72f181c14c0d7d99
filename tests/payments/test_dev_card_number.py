"""The development card field (localstripe's stand-in for Stripe.js, devtools/localstripe_server.py) takes
the README's test card as a person types it, "4242 4242 4242 4242", as Stripe.js does."""

import pytest
import requests

from tests.payments.conftest import token_request


@pytest.mark.parametrize("typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 "])
def test_a_card_number_typed_with_spaces_or_hyphens_makes_a_token(localstripe, typed):
    token = token_request(localstripe, typed)
    assert token.ok, token.text
    assert token.json()["card"]["last4"] == "4242"


def test_a_number_that_is_not_sixteen_digits_is_still_refused(localstripe):
    assert token_request(localstripe, "4242 4242").status_code == 400


def test_the_fake_stripe_js_reads_the_number_without_separators(localstripe):
    script = requests.get(f"{localstripe}/js.stripe.com/v3/", timeout=10)
    assert script.ok
    assert "this._inputs.number.value.replace(/[\\s-]/g, '')" in script.text
    assert "number: this._inputs.number.value," not in script.text
