"""Parsing and formatting money.  No other code converts money to or from text.

Amounts are `decimal.Decimal` with two places; storage is integer minor
units (lanbill.db.MoneyField).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from lanbill.db import CENT

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
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

    Refuses floats, more than two decimals, and text that is not a number.
    """
    if isinstance(value, float) or isinstance(value, bool):
        raise MoneyError(N_("Amount must be given as a string or an integer, not a float."))
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = _SPACES.sub("", value).replace(",", ".")
    else:
        raise MoneyError(N_("Amount must be a number."))
    if not _NUMBER.match(text):
        raise MoneyError(N_("Amount must be a number, for example 650,50."))
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex guards it
        raise MoneyError(N_("Amount must be a number, for example 650,50.")) from None
    if amount != amount.quantize(CENT):
        raise MoneyError(N_("Amount may have at most two decimals."))
    amount = amount.quantize(CENT)
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError(N_("Amount is too large."))
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
