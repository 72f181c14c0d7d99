"""Money is a Decimal with two places, end to end, on every database.

SQLite returns a sum of a decimal column as a float (``214.48000000000002``, shown as ``214.480000000000``)
or an integer (``3682``); PostgreSQL returns a Decimal with whatever places the sum has. Every sum of
money is therefore taken with ``money_sum`` (in the query) or passed through ``money`` (in Python).
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: object) -> Decimal:
    """A sum of money as a Decimal rounded to the cent; None is zero."""
    if value is None:
        return ZERO
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)  # type: ignore[arg-type]


def money_sum(expression: Combinable) -> Coalesce:
    """``expression`` (a ``Sum`` or a sum of sums) as two-place money, zero where there is nothing: the
    output field's two places make Django round SQLite's float to the cent."""
    return Coalesce(expression, Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2))
