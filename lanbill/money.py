"""Parsing and formatting money.  No other code converts money to or from text.

Amounts are `decimal.Decimal` with two places; storage is integer minor
units (lanbill.db.MoneyField).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from lanbill.db import CENT

_SPACES = re.compile(r"[\s\u00a0\u202f']")
# ASCII digits only: Python's \d would also take full-width ("１０") and
# Arabic-Indic ("١٠") digits, which no cashier types and which look like
# other amounts in a log or a report.
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
# Longer text is no amount (the largest, 1000000000.00, has 13 characters);
# refused before Decimal sees it, so "1" and four hundred zeros is a
# message, not an arithmetic error.
MAX_AMOUNT_TEXT = 32
NBSP = "\u00a0"
MAX_AMOUNT = Decimal("1000000000.00")  # a sanity ceiling for one operation


class MoneyError(ValueError):
    """A text that is not an amount of money; `message` is user-facing."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def N_(text: str) -> str:
    """Mark a message for translation without translating it here."""
    return text


def parse_money(value, *, allow_negative: bool = True, allow_zero: bool = True) -> Decimal:
    """Parse `650,50`, `650.50`, `1 234,50` or a number into a Decimal.

    Refuses floats, more than two decimals, digits other than ASCII 0-9
    (full-width, Arabic-Indic …), amounts beyond MAX_AMOUNT however they
    are written, and text that is not a number.
    """
    if isinstance(value, float) or isinstance(value, bool):
        raise MoneyError(N_("Amount must be given as a string or an integer, not a float."))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(N_("Amount must be a number, for example 650,50."))
        if abs(value) > MAX_AMOUNT:
            raise MoneyError(N_("Amount is too large."))
        text = format(value, "f")
    elif isinstance(value, int):
        if abs(value) > MAX_AMOUNT:
            raise MoneyError(N_("Amount is too large."))
        text = str(value)
    elif isinstance(value, str):
        text = _SPACES.sub("", value).replace(",", ".")
    else:
        raise MoneyError(N_("Amount must be a number."))
    if not _NUMBER.match(text):
        if any(char.isdigit() and not char.isascii() for char in text):
            raise MoneyError(N_("Write the amount with the digits 0-9, for example 650,50."))
        raise MoneyError(N_("Amount must be a number, for example 650,50."))
    if len(text) > MAX_AMOUNT_TEXT:
        whole, _, fraction = text.lstrip("+-").partition(".")
        if len(whole.lstrip("0")) > len(fraction):
            raise MoneyError(N_("Amount is too large."))
        raise MoneyError(N_("Amount may have at most two decimals."))
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex guards it
        raise MoneyError(N_("Amount must be a number, for example 650,50.")) from None
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError(N_("Amount is too large."))
    if amount != amount.quantize(CENT):
        raise MoneyError(N_("Amount may have at most two decimals."))
    amount = amount.quantize(CENT)
    if not allow_negative and amount < 0:
        raise MoneyError(N_("Amount must not be negative."))
    if not allow_zero and amount == 0:
        raise MoneyError(N_("Amount must not be zero."))
    return amount


def format_money(amount, symbol: str = "₽") -> str:
    """`Decimal('-1234.5')` → `−1 234,50 ₽` (Russian grouping, comma)."""
    if amount is None:
        return ""
    amount = Decimal(amount).quantize(CENT)
    sign = "−" if amount < 0 else ""
    whole, frac = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    text = sign + NBSP.join(groups) + "," + frac
    return text + NBSP + symbol if symbol else text


def money_str(amount) -> str:
    """The API's form: a decimal string with two places, e.g. "650.00"."""
    if amount is None:
        return None
    return f"{Decimal(amount).quantize(CENT):.2f}"
