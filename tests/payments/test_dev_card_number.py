"""The development card field (localstripe's stand-in for Stripe.js, devtools/localstripe_server.py) takes
the README's test card as a person types it, "4242 4242 4242 4242", as Stripe.js does."""

import pytest
import requests


@pytest.mark.parametrize("typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 "])
def test_a_card_number_typed_with_spaces_or_hyphens_makes_a_token(localstripe, typed):
    token = requests.post(
        f"{localstripe}/v1/tokens",
        data={
            "key": "pk_test_marketplace",
            "card[number]": typed,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
        timeout=10,
    )
    assert token.ok, token.text
    assert token.json()["card"]["last4"] == "4242"


def test_a_number_that_is_not_sixteen_digits_is_still_refused(localstripe):
    token = requests.post(
        f"{localstripe}/v1/tokens",
        data={
            "key": "pk_test_marketplace",
            "card[number]": "4242 4242",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
        timeout=10,
    )
    assert token.status_code == 400


def test_the_fake_stripe_js_reads_the_number_without_separators(localstripe):
    script = requests.get(f"{localstripe}/js.stripe.com/v3/", timeout=10)
    assert script.ok
    assert "this._inputs.number.value.replace(/[\\s-]/g, '')" in script.text
    assert "number: this._inputs.number.value," not in script.text
