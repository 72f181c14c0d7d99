"""Small arithmetic on reported figures, shared by the sales review and logistics performance."""

from decimal import ROUND_HALF_UP, Decimal


def percent_of(part: Decimal | int, whole: Decimal | int | None) -> Decimal | None:
    """``part`` as a per cent of ``whole`` (one decimal); None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
