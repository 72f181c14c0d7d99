"""Formatting the sales review's figures: money in yuan, per cents with their sign, a dash for none."""

from decimal import Decimal

from django import template

register = template.Library()

MONEY_METRICS = {"gross", "refunds", "net", "average_order_value"}
DASH = "—"


@register.filter
def yuan(value: Decimal | int | str | None) -> str:
    if value is None:
        return DASH
    return f"¥{Decimal(value):,.2f}"


@register.filter
def change(value: Decimal | None) -> str:
    """A change in per cent with its sign (+12.5%), or a dash when there is nothing to compare with."""
    if value is None:
        return DASH
    return f"{'+' if value > 0 else ''}{value}%"


@register.filter
def change_class(value: Decimal | None) -> str:
    if not value:
        return ""
    return "a-up" if value > 0 else "a-down"


@register.filter
def metric(value: Decimal | int | None, name: str) -> str:
    """One figure of the totals strip, formatted for its kind."""
    if value is None:
        return DASH
    if name in MONEY_METRICS:
        return yuan(value)
    if name == "presale_share":
        return f"{value}%"
    return str(value)


@register.filter
def count(value: int | None) -> str:
    return DASH if value is None else str(value)


@register.filter
def percent(value: Decimal | None) -> str:
    return DASH if value is None else f"{value}%"
