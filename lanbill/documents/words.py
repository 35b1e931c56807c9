"""Amounts in words (сумма прописью), DOMAIN-RULES §5."""

from __future__ import annotations

from decimal import Decimal

from num2words import num2words

from lanbill.db import CENT


def amount_in_words(amount: Decimal) -> str:
    """«Шестьсот рублей 00 копеек»: roubles in words, kopecks in digits (the
    accounting style), first letter capitalised, no comma (DOMAIN-RULES §5).

    num2words reads an int as kopecks (600 → "шесть рублей"), so anything
    but a Decimal is refused, and the Decimal is quantized to kopecks
    before it is passed on."""
    if not isinstance(amount, Decimal):
        raise TypeError("amount_in_words needs a Decimal (an int is read as kopecks)")
    amount = amount.quantize(CENT)
    sign = ""
    if amount < 0:
        sign, amount = "минус ", -amount
    text = num2words(amount, lang="ru", to="currency", currency="RUB", cents=False).replace(",", "")
    text = sign + text
    return text[:1].upper() + text[1:]
