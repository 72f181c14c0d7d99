"""Ids and dates a visitor types by hand are refused with a message, never a server error: a 20-digit id
in a filter or a form's model choice, a custom period at the calendar's edges."""

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.form_fields import ID_MAX, id_or_none
from tests.factories import association_member
from tests.shops.association.test_admission import form_data, place, shoots  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.django_db

HUGE = "9" * 20


@pytest.fixture
def staff() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(association_member())
    return client


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("association:sales", {"period": "custom", "start": "0001-01-01", "end": "0001-01-02"}),
        ("association:sales", {"period": "custom", "start": "9999-12-01", "end": "9999-12-31"}),
        ("association:sales-export", {"period": "custom", "start": "0001-01-01", "end": "0001-01-02"}),
        ("association:sales-chart", {"period": "custom", "start": "9999-12-01", "end": "9999-12-31"}),
        ("association:sales", {"shop": HUGE, "county": HUGE, "category": "-1"}),
        ("association:listings", {"shop": HUGE, "category": HUGE}),
        ("association:listings", {"shop": "-5", "category": "1e9"}),
    ],
)
def test_hand_made_filters_get_the_page_not_an_error(staff, name, params):
    response = staff.get(reverse(name), params)

    assert response.status_code == 200, response.content[:500]


def test_a_custom_period_at_the_calendars_edge_is_dropped_with_a_message(staff):
    response = staff.get(
        reverse("association:sales"), {"period": "custom", "start": "9999-12-01", "end": "9999-12-31"}
    )

    assert "2000-01-01" in response.content.decode()  # "days from 2000-01-01 to 2100-12-31 only"


def test_a_20_digit_category_in_a_shop_application_is_a_form_error(client, place, shoots):  # noqa: F811
    client.raise_request_exception = False

    response = client.post(reverse("admission:apply"), form_data(place, shoots, categories=[HUGE]))

    assert response.status_code == 400  # the form again, with what was typed and the error
    assert "categories" in response.context["form"].errors


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [("12", 12), (" 7 ", 7), ("0", None), ("-3", None), (HUGE, None), (str(ID_MAX), ID_MAX), ("1.5", None)],
)
def test_ids_are_parsed_within_what_the_database_holds(typed, parsed):
    assert id_or_none(typed) == parsed
