"""The settlement's pages: the association's statements, one statement with its actions, CSV and PDF,
commission rules; the farmer's statements in the console (their own shop's only). Query budgets do not
grow with the number of statements."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from oscar.test.factories import UserFactory

from shops.association.models import AuditEntry
from shops.services import farmer_attach
from shops.settlement.models import CommissionRule, Payout, ShopPayoutAccount, Statement, StatementLine
from shops.settlement.rules import commission_rule_add
from shops.settlement.services import statement_issue, statements_generate
from tests.factories import ProductFactory, ShopFactory, association_member
from tests.form_pages import page_kept
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
    assert refused.status_code == 409  # the statement's page again, the refusal on the pay form
    statement.refresh_from_db()
    assert statement.status == Statement.Status.ISSUED
    with translation.override("zh-hans"):
        said = translation.gettext("Give the bank payment's reference: the shop has no Stripe account.")
        assert refused.context["pay_form"].non_field_errors() == [said]
        assert said in refused.content.decode()

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


# --- refused input: the page again, with what was typed ------------------------------------------------


def test_a_correction_the_form_refuses_keeps_what_was_typed(staff_client, march):
    lines, audits = StatementLine.objects.count(), AuditEntry.objects.count()
    typed = "运费补差：桃源村七月 <第二车>"

    response = staff_client.post(
        reverse("association:statement-correct", kwargs={"pk": march.pk}),
        {"amount": "12.3456", "description": typed},
    )

    html = page_kept(response, form="correction_form", typed=[typed, "12.3456"])
    assert 'data-testid="correction-form"' in html
    assert "amount" in response.context["correction_form"].errors
    assert (StatementLine.objects.count(), AuditEntry.objects.count()) == (lines, audits)


def test_a_correction_the_statement_refuses_keeps_what_was_typed(staff_client, march):
    lines = StatementLine.objects.count()
    typed = "退回多扣的佣金（三月）"

    response = staff_client.post(
        reverse("association:statement-correct", kwargs={"pk": march.pk}),
        {"amount": "0", "description": typed},
    )

    page_kept(response, form="correction_form", typed=[typed], status=409)
    with translation.override("zh-hans"):
        said = translation.gettext("A correction is an amount in yuan and fen, other than zero.")
    assert response.context["correction_form"].non_field_errors() == [said]
    assert StatementLine.objects.count() == lines
    assert not AuditEntry.objects.filter(action__startswith="statement.correct").exists()


def test_a_payment_reference_too_long_is_kept_and_nothing_is_paid(staff_client, march):
    statement_issue(statement_id=march.pk, actor=association_member())
    typed = "工商银行转账流水号" * 30  # 270 characters: at most 255

    response = staff_client.post(
        reverse("association:statement-pay", kwargs={"pk": march.pk}), {"reference": typed}
    )

    page_kept(response, form="pay_form", typed=[typed])
    assert "reference" in response.context["pay_form"].errors
    march.refresh_from_db()
    assert march.status == Statement.Status.ISSUED
    assert not Payout.objects.exists()


def test_a_payout_account_stripe_would_not_know_is_kept_with_the_reason(staff_client, march):
    typed = "账户-acct-桃源"

    response = staff_client.post(
        reverse("association:payout-account", kwargs={"pk": march.pk}), {"stripe_account_id": typed}
    )

    page_kept(response, form="account_form", typed=[typed], status=409)
    with translation.override("zh-hans"):
        said = translation.gettext("A Stripe connected account id starts with “acct_”.")
    assert response.context["account_form"].non_field_errors() == [said]
    assert not ShopPayoutAccount.objects.exists()


def test_a_month_that_is_no_month_is_kept_and_nothing_is_generated(staff_client, march):
    count = Statement.objects.count()

    response = staff_client.post(reverse("association:statements-generate"), {"month": "2026年三月"})

    html = page_kept(response, form="generate_form", typed=["2026年三月"])
    assert 'data-testid="generate-form"' in html
    assert Statement.objects.count() == count


def test_ending_a_rule_before_it_starts_keeps_the_day_typed_on_its_row(staff_client, catalogue):
    rule = commission_rule_add(
        percent=Decimal("6"), category=catalogue["tea"], effective_from=datetime.date(2026, 1, 1)
    )
    other = commission_rule_add(percent=Decimal("4"), effective_from=datetime.date(2026, 1, 1))

    response = staff_client.post(
        reverse("association:commission-end", kwargs={"pk": rule.pk}), {"last_day": "2025-12-24"}
    )

    html = page_kept(response, form="end_form", typed=["2025-12-24"], status=409)
    assert response.context["end_rule_id"] == rule.pk
    # The typed day is on the rule's own row; the other rule's row offers today, as before.
    assert html.count('value="2025-12-24"') == 1
    assert html.count(f'value="{timezone.localdate():%Y-%m-%d}"') >= 1
    rule.refresh_from_db()
    other.refresh_from_db()
    assert (rule.effective_to, other.effective_to) == (None, None)
    assert not AuditEntry.objects.filter(action="commission.end").exists()


def test_an_action_url_opened_is_sent_to_its_page(staff_client, march):
    """A page answered at its form's action URL (after refused input) can be reloaded or switched to
    English: the action's URL, opened, leads to the page, its query kept."""
    correct = reverse("association:statement-correct", kwargs={"pk": march.pk})

    response = staff_client.get(correct, {"from": "lang"})

    assert response.status_code == 302
    assert response["Location"] == reverse("association:statement", kwargs={"pk": march.pk}) + "?from=lang"
    assert staff_client.get(reverse("association:commission-end", kwargs={"pk": 1}))["Location"] == reverse(
        "association:commission"
    )
    outsider = Client()
    outsider.force_login(UserFactory())
    assert outsider.get(correct).status_code == 403  # the workspace's access check first, as for the page
    assert outsider.post(correct, {"amount": "1", "description": "x"}).status_code == 403
