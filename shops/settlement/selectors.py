"""Reads that shape the settlement pages (the association's and the farmer's): each owns its joins, so a
page's query count does not grow with its rows."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from marketplace.money import money, money_sum
from shops.settlement.models import CommissionRule, ShopPayoutAccount, Statement, StatementLine


@dataclass(frozen=True)
class StatementTotals:
    count: int
    sales: Decimal
    refunds: Decimal
    commission: Decimal
    commission_reversal: Decimal
    shipping_subsidy: Decimal
    corrections: Decimal
    payable: Decimal


def statements(
    *, period: datetime.date | None = None, shop_id: int | None = None, status: str = "", query: str = ""
) -> QuerySet[Statement]:
    found = Statement.objects.select_related("shop")
    if period is not None:
        found = found.filter(period=period)
    if shop_id is not None:
        found = found.filter(shop_id=shop_id)
    if status:
        found = found.filter(status=status)
    if query:
        found = found.filter(
            Q(shop__name__icontains=query) | Q(shop__code__icontains=query) | Q(number=query)
        )
    return found.order_by("-period", "shop__name", "pk")


def statements_totals(found: QuerySet[Statement]) -> StatementTotals:
    fields = Statement.TOTAL_FIELDS
    sums = found.order_by().aggregate(count=Count("pk"), **{name: money_sum(Sum(name)) for name in fields})
    return StatementTotals(count=sums.pop("count"), **{name: money(sums[name]) for name in fields})


def statement_detail(
    *, pk: int | None = None, number: str | None = None, shop_id: int | None = None
) -> Statement:
    """One statement, by primary key or by number, with its shop and payout; ``shop_id`` limits it to one
    shop (the farmer's). Raises ``Statement.DoesNotExist``."""
    if pk is None and number is None:
        raise TypeError("statement_detail needs pk or number")
    found = Statement.objects.select_related("shop", "payout")
    if shop_id is not None:
        found = found.filter(shop_id=shop_id)
    if number is not None:
        found = found.filter(number=number)
    if pk is not None:
        found = found.filter(pk=pk)
    return found.get()


def statement_lines(statement: Statement) -> QuerySet[StatementLine]:
    return (
        StatementLine.objects.filter(statement=statement)
        .select_related("shop_order", "carried_from")
        .order_by("day", "shop_order__number", "pk")
    )


def statement_carried_into(statement: Statement) -> Statement | None:
    line = StatementLine.objects.filter(carried_from=statement).select_related("statement").first()
    return line.statement if line else None


def payout_account(shop_id: int) -> ShopPayoutAccount | None:
    return ShopPayoutAccount.objects.filter(shop_id=shop_id).first()


def commission_rules() -> QuerySet[CommissionRule]:
    return CommissionRule.objects.select_related("category", "shop").order_by(
        "shop__name", "category__path", "-effective_from", "pk"
    )


def statements_to_pay_count() -> int:
    return Statement.objects.filter(status=Statement.Status.ISSUED, payable__gt=0).count()


def statements_to_issue_count(*, before: datetime.date) -> int:
    """Drafts of months that are over: the association checks and issues them."""
    return Statement.objects.filter(status=Statement.Status.DRAFT, period__lt=before).count()
