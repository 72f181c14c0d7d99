"""Typed text reaches a statement's PDF and CSV as text: reportlab markup in a product title, a reason or a
shop name neither embeds a server file nor breaks the document; no CSV cell is a formula."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from shops.settlement.rules import commission_rule_add
from shops.settlement.services import statement_correction_add, statements_generate
from tests.factories import association_member
from tests.shops.settlement.conftest import at, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_photo(tmp_path):
    """A file on the server that no statement may show (an applicant's licence photo, say)."""
    path = tmp_path / "licence.png"
    Image.new("RGB", (40, 40), "red").save(path)
    return path


@pytest.fixture
def hostile_statement(shop, private_photo):
    img = f'<img src="{private_photo}" width="120" height="120"/>'
    shop.name = f"<b>桃源{img}"
    shop.save()
    shop.peach.title = f"=HYPERLINK(1){img}"
    shop.peach.save()
    commission_rule_add(
        percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1), actor=association_member()
    )
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))
    (statement,) = statements_generate(month=datetime.date(2026, 3, 1))
    statement_correction_add(statement_id=statement.pk, amount=Decimal("-5.00"), description=f"<b>x {img}")
    return statement


def test_the_pdf_prints_markup_as_text_and_embeds_no_file(hostile_statement):
    staff = Client()
    staff.force_login(association_member())

    pdf = staff.get(reverse("association:statement-pdf", kwargs={"pk": hostile_statement.pk}))

    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert b"/Subtype /Image" not in pdf.content


def test_no_csv_cell_is_a_formula(hostile_statement):
    staff = Client()
    staff.force_login(association_member())

    response = staff.get(reverse("association:statement-csv", kwargs={"pk": hostile_statement.pk}))

    cells = [cell for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for cell in row]
    assert [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:2].isdigit())] == []
    assert any(c.startswith("'=HYPERLINK(1)") for c in cells)
    assert "-5.00" in cells  # a negative amount stays a number
