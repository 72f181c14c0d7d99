"""Reading the sales ledger: a shop's (or every shop's) sales, refunds and net sales over days."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from marketplace.ledger.models import SaleEntry
from marketplace.money import money_sum

ZERO = Decimal("0.00")
K = SaleEntry.Kind


@dataclass(frozen=True)
class LedgerTotals:
    sales: int = 0  # shop orders paid
    gross: Decimal = ZERO  # goods + shipping of those sales
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    refunds: Decimal = ZERO  # paid back (a positive amount)

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds


_TOTALS = {
    "n": Count("pk", filter=Q(kind=K.SALE)),
    "gross": money_sum(Sum("amount", filter=Q(kind=K.SALE))),
    "goods": money_sum(Sum("goods", filter=Q(kind=K.SALE))),
    "shipping": money_sum(Sum("shipping", filter=Q(kind=K.SALE))),
    "back": money_sum(Sum("amount", filter=Q(kind=K.REFUND))),
}


def _totals(row: dict[str, Any]) -> LedgerTotals:
    return LedgerTotals(
        sales=row["n"], gross=row["gross"], goods=row["goods"], shipping=row["shipping"], refunds=-row["back"]
    )


def ledger_totals_by_shop(
    *, since: datetime.date, until: datetime.date, shop_ids: list[int] | None = None
) -> dict[int, LedgerTotals]:
    """Each shop's totals over the days ``since`` to ``until`` (inclusive, Asia/Shanghai); one query."""
    rows = SaleEntry.objects.filter(day__gte=since, day__lte=until)
    if shop_ids is not None:
        rows = rows.filter(shop_id__in=shop_ids)
    return {row["shop_id"]: _totals(row) for row in rows.values("shop_id").annotate(**_TOTALS).order_by()}


def ledger_totals_by_day(
    *, shop_id: int, since: datetime.date, until: datetime.date
) -> dict[datetime.date, LedgerTotals]:
    """One shop's totals for each day from ``since`` to ``until`` that has a sale or a refund; one query."""
    rows = SaleEntry.objects.filter(shop_id=shop_id, day__gte=since, day__lte=until)
    return {row["day"]: _totals(row) for row in rows.values("day").annotate(**_TOTALS).order_by()}
