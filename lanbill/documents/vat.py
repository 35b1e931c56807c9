"""VAT arithmetic for documents (DOMAIN-RULES §5)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from lanbill.db import CENT


def vat_included(amount: Decimal, percent: int) -> Decimal:
    """The VAT inside an amount that includes it: amount × rate / (100 + rate),
    rounded half up to kopecks (DOMAIN-RULES §5: 600.00 at 20 % → 100.00,
    at 22 % → 108.20)."""
    if not isinstance(amount, Decimal):
        raise TypeError("money must be a Decimal")
    if not percent:
        return Decimal("0.00")
    return (amount * Decimal(percent) / Decimal(100 + percent)).quantize(CENT, rounding=ROUND_HALF_UP)
