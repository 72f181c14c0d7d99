"""Statements agree to the cent with a direct computation over the orders and refunds: itemised and
amount-only refunds, several categories and rates, a shop's override, a rule changed mid-month, sales
at 23:30 on the last day of the month (Asia/Shanghai), negative balances carried over, paid statements
that never change."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from marketplace.local_dates import local_midnight
from marketplace.order.models import ShopOrder, ShopOrderEvent
from marketplace.payments.models import Refund
from shops.association.models import AuditEntry
from shops.settlement.models import CommissionRule, Statement, StatementLine
from shops.settlement.rules import CommissionRuleError, commission_rule_add, commission_rule_end
from shops.settlement.services import (
    StatementError,
    statement_correction_add,
    statement_issue,
    statement_pay,
    statements_generate,
)
from tests.factories import ProductFactory, ShopFactory, association_member
from tests.shops.settlement.conftest import at, refund, sale

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
APRIL = datetime.date(2026, 4, 1)
K = StatementLine.Kind


def rules(catalogue, staff=None):
    commission_rule_add(percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1), actor=staff)
    commission_rule_add(
        percent=Decimal("8"), category=catalogue["tea"], effective_from=datetime.date(2026, 1, 1), actor=staff
    )


def direct(shop, month: datetime.date) -> dict[str, Decimal]:
    """Sales and refunds of ``shop`` in ``month``, computed straight from the orders and refunds."""
    start, end = local_midnight(month), local_midnight((month + datetime.timedelta(days=32)).replace(day=1))
    paid = ShopOrderEvent.objects.filter(
        to_status=ShopOrder.Status.PAID, shop_order__shop=shop, created_at__gte=start, created_at__lt=end
    ).values("shop_order_id")
    sold = ShopOrder.objects.filter(pk__in=paid)
    sales = sum((so.lines_total + so.shipping_charge for so in sold), Decimal("0"))
    refunds = Refund.objects.filter(
        shop_order__shop=shop, status=Refund.Status.SUCCEEDED, created_at__gte=start, created_at__lt=end
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    return {"sales": sales, "refunds": refunds}


def test_payable_is_sales_minus_refunds_minus_commission_to_the_cent(shop, catalogue):
    rules(catalogue)
    a = sale(shop, (shop.peach, 2), (shop.tea, 3), paid_at=at("2026-03-10 10:00"))  # 336.00 + 295.50 + 12
    tea_line = a.lines().get(product=shop.tea)
    refund(a, on=at("2026-03-12 09:00"), lines={tea_line: 1})  # 98.50, itemised
    b = sale(shop, (shop.peach, 1), paid_at=at("2026-03-20 15:00"))  # 168.00 + 12
    refund(b, on=at("2026-03-21 08:00"), amount="50.00")  # amount only

    (statement,) = statements_generate(month=MARCH)

    assert statement.number == "ST-202603-taoyuan"
    assert statement.sales == Decimal("823.50")
    assert statement.refunds == Decimal("148.50")
    # 336.00 × 5 % + 295.50 × 8 % + 168.00 × 5 % ; shipping carries no commission
    assert statement.commission == Decimal("16.80") + Decimal("23.64") + Decimal("8.40")
    # one tea at the sale's 8 %; ¥50 of ¥168 goods × ¥8.40
    assert statement.commission_reversal == Decimal("7.88") + Decimal("2.50")
    assert statement.payable == Decimal("636.54")
    assert statement.payable == (
        statement.sales - statement.refunds - statement.commission + statement.commission_reversal
    )
    expected = direct(shop, MARCH)
    assert statement.sales == expected["sales"]
    assert statement.refunds == expected["refunds"]
    assert statement.lines.aggregate(s=Sum("amount"))["s"] == statement.payable
    rates = sorted(statement.lines.filter(kind=K.COMMISSION).values_list("rate", flat=True))
    assert rates == [Decimal("5.00"), Decimal("5.00"), Decimal("8.00")]


def test_shop_override_and_a_rule_changed_mid_month(shop, catalogue):
    other = ShopFactory(code="longgu")
    other_tea = ProductFactory(shop=other, stock=(Decimal("98.50"), 100))
    other_tea.categories.add(catalogue["green"])
    rules(catalogue)
    old = commission_rule_add(
        percent=Decimal("6"), category=catalogue["fruit"], effective_from=datetime.date(2026, 1, 1)
    )
    commission_rule_end(rule_id=old.pk, last_day=datetime.date(2026, 3, 14))
    commission_rule_add(
        percent=Decimal("7"), category=catalogue["fruit"], effective_from=datetime.date(2026, 3, 15)
    )
    commission_rule_add(
        percent=Decimal("3"),
        category=catalogue["fruit"],
        shop=shop,
        effective_from=datetime.date(2026, 3, 20),
    )
    commission_rule_add(percent=Decimal("4"), shop=other, effective_from=datetime.date(2026, 1, 1))

    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 12:00"))  # fruit 6 % → 10.08
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-16 12:00"))  # fruit 7 % → 11.76
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-25 12:00"))  # the shop's fruit 3 % → 5.04
    sale(shop, (shop.tea, 1), paid_at=at("2026-03-10 12:00"))  # tea 8 % → 7.88
    sale(other, (other_tea, 1), paid_at=at("2026-03-10 12:00"))  # the other shop's 4 % beats tea 8 % → 3.94

    statements = {s.shop_id: s for s in statements_generate(month=MARCH)}

    mine = statements[shop.pk]
    assert sorted(mine.lines.filter(kind=K.COMMISSION).values_list("amount", flat=True)) == [
        Decimal("-11.76"),
        Decimal("-10.08"),
        Decimal("-7.88"),
        Decimal("-5.04"),
    ]
    assert mine.commission == Decimal("34.76")
    assert mine.payable == Decimal("168.00") * 3 + Decimal("98.50") + 4 * Decimal("12.00") - Decimal("34.76")
    assert statements[other.pk].commission == Decimal("3.94")


def test_a_sale_at_23_30_on_the_last_day_belongs_to_that_month(shop, catalogue):
    rules(catalogue)
    late = sale(shop, (shop.peach, 1), paid_at=at("2026-03-31 23:30"))
    early = sale(shop, (shop.peach, 1), paid_at=at("2026-04-01 00:10"))
    refund(late, on=at("2026-03-31 23:59"), amount="20.00")

    (march,) = statements_generate(month=MARCH)
    (april,) = statements_generate(month=APRIL)

    assert set(march.lines.filter(kind=K.SALE).values_list("shop_order", flat=True)) == {late.pk}
    assert set(april.lines.filter(kind=K.SALE).values_list("shop_order", flat=True)) == {early.pk}
    assert march.refunds == Decimal("20.00")
    assert march.sales == direct(shop, MARCH)["sales"] == Decimal("180.00")
    assert april.sales == direct(shop, APRIL)["sales"] == Decimal("180.00")
    assert march.lines.get(kind=K.SALE).day == datetime.date(2026, 3, 31)


def test_generating_again_rebuilds_a_draft_and_counts_nothing_twice(shop, catalogue):
    rules(catalogue)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-05 10:00"))
    (first,) = statements_generate(month=MARCH)
    sale(shop, (shop.tea, 1), paid_at=at("2026-03-06 10:00"))

    (again,) = statements_generate(month=MARCH)
    statements_generate(month=APRIL)  # nothing left for April: everything is in March

    assert again.pk == first.pk
    assert again.sales == Decimal("168.00") + Decimal("98.50") + 2 * Decimal("12.00")
    assert StatementLine.objects.filter(kind=K.SALE).count() == 2
    assert not Statement.objects.filter(period=APRIL).exists()


def test_a_refund_after_payment_lands_in_the_next_statement(shop, catalogue):
    staff = association_member()
    rules(catalogue)
    sold = sale(shop, (shop.peach, 2), paid_at=at("2026-03-10 10:00"))
    (march,) = statements_generate(month=MARCH)
    statement_issue(statement_id=march.pk, actor=staff)
    statement_pay(statement_id=march.pk, actor=staff, reference="ICBC-20260405-001")
    march.refresh_from_db()
    paid_lines = list(march.lines.values_list("pk", "amount"))

    refund(sold, on=at("2026-04-08 10:00"), lines={sold.lines().get(): 1})
    statements_generate(month=MARCH)
    (april,) = statements_generate(month=APRIL)

    march.refresh_from_db()
    assert march.status == Statement.Status.PAID
    assert list(march.lines.values_list("pk", "amount")) == paid_lines
    assert april.refunds == Decimal("168.00")
    assert april.commission_reversal == Decimal("8.40")
    assert april.payable == Decimal("-159.60")


def test_a_negative_balance_is_not_paid_and_is_carried_into_the_next_statement(shop, catalogue):
    staff = association_member()
    rules(catalogue)
    sold = sale(shop, (shop.peach, 1), paid_at=at("2026-02-10 10:00"))
    (february,) = statements_generate(month=datetime.date(2026, 2, 1))
    statement_issue(statement_id=february.pk, actor=staff)
    statement_pay(statement_id=february.pk, actor=staff, reference="ICBC-1")
    refund(sold, on=at("2026-03-03 10:00"), amount="100.00")
    (march,) = statements_generate(month=MARCH)
    march = statement_issue(statement_id=march.pk, actor=staff)
    assert march.payable < 0

    with pytest.raises(StatementError):
        statement_pay(statement_id=march.pk, actor=staff, reference="ICBC-2")
    sale(shop, (shop.tea, 2), paid_at=at("2026-04-02 10:00"))  # 197.00 + 12, 8 % of 197 = 15.76
    (april,) = statements_generate(month=APRIL)

    carried = april.lines.get(kind=K.CORRECTION)
    assert carried.carried_from == march
    assert carried.amount == march.payable
    assert april.payable == Decimal("209.00") - Decimal("15.76") + march.payable
    statements_generate(month=APRIL)  # rebuilt: still carried once
    assert StatementLine.objects.filter(carried_from=march).count() == 1


def test_a_paid_statement_refuses_every_change(shop, catalogue):
    staff = association_member()
    rules(catalogue)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))
    (march,) = statements_generate(month=MARCH)
    statement_issue(statement_id=march.pk, actor=staff)
    payout = statement_pay(statement_id=march.pk, actor=staff, reference="ICBC-9")

    with pytest.raises(StatementError):
        statement_issue(statement_id=march.pk, actor=staff)
    with pytest.raises(StatementError):
        statement_correction_add(statement_id=march.pk, amount=Decimal("10.00"), description="x", actor=staff)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-11 10:00"))  # arrives late
    assert statements_generate(month=MARCH) == []
    assert statement_pay(statement_id=march.pk, actor=staff, reference="other") == payout

    march.refresh_from_db()
    assert march.payable == Decimal("180.00") - Decimal("8.40")
    assert march.lines.count() == 3
    assert AuditEntry.objects.filter(action="statement.pay").count() == 1


def test_a_manual_payment_needs_its_reference(shop, catalogue):
    staff = association_member()
    rules(catalogue)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))
    (march,) = statements_generate(month=MARCH)

    with pytest.raises(StatementError):
        statement_pay(statement_id=march.pk, actor=staff, reference="ICBC-1")  # a draft is not paid
    statement_issue(statement_id=march.pk, actor=staff)
    with pytest.raises(StatementError):
        statement_pay(statement_id=march.pk, actor=staff, reference="   ")

    march.refresh_from_db()
    assert march.status == Statement.Status.ISSUED
    payout = statement_pay(statement_id=march.pk, actor=staff, reference=" ICBC-20260402-7 ")
    assert (payout.method, payout.reference, payout.amount) == (
        "manual",
        "ICBC-20260402-7",
        Decimal("171.60"),
    )
    entry = AuditEntry.objects.get(action="statement.pay")
    assert entry.actor == staff
    assert entry.details["reference"] == "ICBC-20260402-7"


def test_the_current_month_cannot_be_issued_and_a_future_one_not_generated(shop, catalogue):
    from django.utils import timezone

    rules(catalogue)
    today = timezone.localdate()
    sale(shop, (shop.peach, 1), paid_at=timezone.now())
    (draft,) = statements_generate(month=today)
    with pytest.raises(StatementError):
        statement_issue(statement_id=draft.pk)
    with pytest.raises(StatementError):
        statements_generate(month=(today.replace(day=1) + datetime.timedelta(days=40)))


def test_a_correction_by_hand_survives_a_rebuild(shop, catalogue):
    staff = association_member()
    rules(catalogue)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))
    (march,) = statements_generate(month=MARCH)

    with pytest.raises(StatementError):
        statement_correction_add(statement_id=march.pk, amount=Decimal("5.00"), description=" ", actor=staff)
    statement_correction_add(
        statement_id=march.pk, amount=Decimal("-5.00"), description="包装盒费用", actor=staff
    )
    (march,) = statements_generate(month=MARCH)

    assert march.corrections == Decimal("-5.00")
    assert march.payable == Decimal("180.00") - Decimal("8.40") - Decimal("5.00")
    assert AuditEntry.objects.filter(action="statement.correct", reason="包装盒费用").exists()


def test_shipping_subsidy_is_a_line_when_the_association_pays_shipping(shop, catalogue, settings):
    settings.SETTLEMENT_SHIPPING_SUBSIDY = "50"
    rules(catalogue)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))

    (march,) = statements_generate(month=MARCH)

    assert march.shipping_subsidy == Decimal("6.00")
    assert march.payable == Decimal("180.00") - Decimal("8.40") - Decimal("6.00")


def test_commission_rules_of_one_scope_never_overlap_and_every_change_is_audited(catalogue):
    staff = association_member()
    shop = ShopFactory()
    first = commission_rule_add(
        percent=Decimal("5"), category=catalogue["tea"], effective_from=datetime.date(2026, 1, 1), actor=staff
    )
    with pytest.raises(CommissionRuleError):
        commission_rule_add(
            percent=Decimal("6"), category=catalogue["tea"], effective_from=datetime.date(2026, 6, 1)
        )
    # Other scopes are free to overlap it.
    commission_rule_add(percent=Decimal("6"), effective_from=datetime.date(2026, 1, 1))
    commission_rule_add(
        percent=Decimal("2"), category=catalogue["tea"], shop=shop, effective_from=datetime.date(2026, 1, 1)
    )
    with pytest.raises(CommissionRuleError):
        commission_rule_add(percent=Decimal("100.5"), effective_from=datetime.date(2027, 1, 1))
    with pytest.raises(CommissionRuleError):
        commission_rule_add(percent=Decimal("5.555"), effective_from=datetime.date(2027, 1, 1))
    with pytest.raises(CommissionRuleError):
        commission_rule_end(rule_id=first.pk, last_day=datetime.date(2025, 12, 31))

    commission_rule_end(rule_id=first.pk, last_day=datetime.date(2026, 5, 31), actor=staff, reason="新标准")
    commission_rule_add(
        percent=Decimal("6"), category=catalogue["tea"], effective_from=datetime.date(2026, 6, 1), actor=staff
    )

    assert CommissionRule.objects.filter(category=catalogue["tea"], shop=None).count() == 2
    assert AuditEntry.objects.filter(action="commission.add").count() == 4
    assert AuditEntry.objects.get(action="commission.end").actor == staff


def test_the_management_command_generates_a_month(shop, catalogue, capsys):
    rules(catalogue)
    sale(shop, (shop.peach, 1), paid_at=at("2026-03-10 10:00"))
    call_command("statements_generate", "--month", "2026-03")
    call_command("statements_generate", "--month", "2026-03")
    assert "ST-202603-taoyuan" in capsys.readouterr().out
    assert Statement.objects.get().payable == Decimal("171.60")
