"""The settlement's pages: the association's statements, one statement with its actions, CSV and PDF,
commission rules; the farmer's statements in the console (their own shop's only). Query budgets do not
grow with the number of statements."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from oscar.test.factories import UserFactory

from shops.association.models import AuditEntry
from shops.services import farmer_attach
from shops.settlement.models import CommissionRule, Statement
from shops.settlement.rules import commission_rule_add
from shops.settlement.services import statement_issue, statements_generate
from tests.factories import ProductFactory, ShopFactory, association_member
from tests.shops.settlement.conftest import at, sale

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(association_member())
    return client


@pytest.fixture
def march(shop):
    commission_rule_add(
        percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1), actor=association_member()
    )
    sale(shop, (shop.peach, 2), (shop.tea, 1), paid_at=at("2026-03-10 10:00"))
    (statement,) = statements_generate(month=MARCH)
    return statement


def farmer_client(shop) -> Client:
    farmer = UserFactory()
    farmer_attach(shop=shop, user=farmer)
    client = Client()
    client.force_login(farmer)
    return client


def many_statements(count: int) -> None:
    for n in range(count):
        shop = ShopFactory(code=f"shop-{n}")
        product = ProductFactory(shop=shop, stock=(Decimal("10.00"), 100))
        sale(shop, (product, 1), paid_at=at("2026-03-05 10:00"))
    statements_generate(month=MARCH)


def test_the_statement_list_shows_the_month_with_totals(staff_client, march):
    response = staff_client.get(reverse("association:statements"), {"month": "2026-03"})
    assert response.status_code == 200
    page = response.content.decode()
    assert march.number in page
    assert response.context["totals"].payable == march.payable
    assert (
        staff_client.get(reverse("association:statements"), {"month": "2026-02"}).context["totals"].count == 0
    )


@pytest.mark.parametrize("count", [1, 12])
def test_the_statement_lists_keep_to_a_query_budget(staff_client, django_assert_max_num_queries, count):
    many_statements(count)
    with django_assert_max_num_queries(12):
        assert staff_client.get(reverse("association:statements")).status_code == 200
    statement = Statement.objects.first()
    with django_assert_max_num_queries(14):
        assert (
            staff_client.get(reverse("association:statement", kwargs={"pk": statement.pk})).status_code == 200
        )
    farmer = farmer_client(statement.shop)
    with django_assert_max_num_queries(10):
        assert farmer.get(reverse("console:statements")).status_code == 200


def test_a_statement_page_with_many_lines_keeps_to_its_budget(
    staff_client, shop, django_assert_max_num_queries
):
    for day in range(1, 21):
        sale(shop, (shop.peach, 1), paid_at=at(f"2026-03-{day:02d} 10:00"))
    (statement,) = statements_generate(month=MARCH)
    assert statement.lines.count() > 40
    with django_assert_max_num_queries(14):
        response = staff_client.get(reverse("association:statement", kwargs={"pk": statement.pk}))
    assert response.status_code == 200


def test_generate_issue_and_pay_by_hand_from_the_workspace(staff_client, shop):
    commission_rule_add(percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1))
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))

    response = staff_client.post(reverse("association:statements-generate"), {"month": "2026-03"})
    assert response.status_code == 302
    statement = Statement.objects.get()
    url = reverse("association:statement", kwargs={"pk": statement.pk})
    page = staff_client.get(url).content.decode()
    assert 'data-testid="issue"' in page
    staff_client.post(reverse("association:statement-issue", kwargs={"pk": statement.pk}))
    statement.refresh_from_db()
    assert statement.status == Statement.Status.ISSUED

    refused = staff_client.post(
        reverse("association:statement-pay", kwargs={"pk": statement.pk}), {"reference": ""}
    )
    assert refused.status_code == 302
    statement.refresh_from_db()
    assert statement.status == Statement.Status.ISSUED
    messages = [str(m) for m in staff_client.get(url).context["messages"]]
    with translation.override("zh-hans"):
        assert messages[-1:] == [
            translation.gettext("Give the bank payment's reference: the shop has no Stripe account.")
        ]

    staff_client.post(
        reverse("association:statement-pay", kwargs={"pk": statement.pk}), {"reference": "ICBC-42"}
    )
    statement.refresh_from_db()
    assert statement.status == Statement.Status.PAID
    assert statement.payout.reference == "ICBC-42"
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"statement.issue", "statement.pay"}


def test_statement_csv_and_pdf(staff_client, march):
    csv = staff_client.get(reverse("association:statement-csv", kwargs={"pk": march.pk}))
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert march.number in text
    assert f"{march.payable:.2f}" in text
    assert "阳山水蜜桃 6只装 × 2" in text

    pdf = staff_client.get(reverse("association:statement-pdf", kwargs={"pk": march.pk}))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert march.number.encode() in pdf.content


def test_commission_rules_are_added_refused_and_ended_in_the_workspace(staff_client, catalogue):
    url = reverse("association:commission")
    added = staff_client.post(
        url, {"percent": "8", "category": catalogue["tea"].pk, "effective_from": "2026-01-01", "note": "茶叶"}
    )
    assert added.status_code == 302
    overlapping = staff_client.post(
        url, {"percent": "9", "category": catalogue["tea"].pk, "effective_from": "2026-06-01"}
    )
    assert overlapping.status_code == 400
    assert CommissionRule.objects.count() == 1
    rule = CommissionRule.objects.get()
    assert rule.percent == Decimal("8.00")

    ended = staff_client.post(
        reverse("association:commission-end", kwargs={"pk": rule.pk}), {"last_day": "2026-05-31"}
    )
    assert ended.status_code == 302
    rule.refresh_from_db()
    assert rule.effective_to == datetime.date(2026, 5, 31)
    assert staff_client.get(url).status_code == 200
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "commission.add",
        "commission.end",
    ]


def test_the_overview_shows_statements_waiting(staff_client, march):
    statement_issue(statement_id=march.pk, actor=association_member())
    page = staff_client.get(reverse("association:home")).content.decode()
    assert "?status=issued" in page


def test_the_farmer_sees_their_own_statements_only(shop, march):
    other_shop = ShopFactory(code="other")
    other_product = ProductFactory(shop=other_shop, stock=(Decimal("10.00"), 100))
    sale(other_shop, (other_product, 1), paid_at=at("2026-03-05 10:00"))
    statements_generate(month=MARCH)
    other = Statement.objects.get(shop=other_shop)
    farmer = farmer_client(shop)

    listing = farmer.get(reverse("console:statements")).content.decode()
    assert reverse("console:statement", kwargs={"statement": march.number}) in listing
    assert other.number not in listing
    detail = farmer.get(reverse("console:statement", kwargs={"statement": march.number}))
    assert detail.status_code == 200
    assert f"¥{march.payable}" in detail.content.decode()
    assert farmer.get(
        reverse("console:statement-pdf", kwargs={"statement": march.number})
    ).content.startswith(b"%PDF")
    assert march.number in farmer.get(
        reverse("console:statement-csv", kwargs={"statement": march.number})
    ).content.decode("utf-8-sig")
    for name in ("console:statement", "console:statement-csv", "console:statement-pdf"):
        assert farmer.get(reverse(name, kwargs={"statement": other.number})).status_code == 404
    assert 'data-testid="statements-link"' in farmer.get(reverse("console:sales")).content.decode()


MONEY_SHOWN = re.compile(r"¥\s?-?[\d,]+(?:\.\d+)?")


def money_shown(page: str) -> list[str]:
    return MONEY_SHOWN.findall(page)


def test_every_amount_on_the_statement_pages_has_two_decimal_places(staff_client, shop):
    """A database sum comes back from SQLite as a float (``214.480000000000``) or an integer (``3682``):
    every amount shown is a Decimal with two places, whatever the database."""
    commission_rule_add(
        percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1), actor=association_member()
    )
    other = ShopFactory(code="other-shop")
    cheap = ProductFactory(shop=other, stock=(Decimal("0.10"), 100))
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))
    sale(other, (cheap, 3), paid_at=at("2026-03-11 10:00"))
    statements = statements_generate(month=MARCH)
    totals = staff_client.get(reverse("association:statements"), {"month": "2026-03"}).context["totals"]
    for name in Statement.TOTAL_FIELDS:
        value = getattr(totals, name)
        assert isinstance(value, Decimal), name
        assert value == value.quantize(Decimal("0.01")), (name, value)
        assert value.as_tuple().exponent == -2, (name, value)
    pages = [
        staff_client.get(reverse("association:statements"), {"month": "2026-03"}),
        *(staff_client.get(reverse("association:statement", kwargs={"pk": s.pk})) for s in statements),
        farmer_client(shop).get(reverse("console:statements")),
    ]
    for response in pages:
        assert response.status_code == 200
        shown = money_shown(response.content.decode())
        assert shown, response.request["PATH_INFO"]
        for amount in shown:
            assert re.fullmatch(r"¥-?\d{1,3}(,\d{3})*\.\d{2}", amount.replace(" ", "")), (amount, shown)
