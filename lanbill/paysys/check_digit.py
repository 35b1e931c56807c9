"""The check digit of an account identifier a payment system sends
(DOMAIN-RULES §3.1): the agreement number followed by one digit, the sum of
the number's digits mod 10 — the rule NoDeny's QIWI frontend applies
(kolodovskyy/nodeny-qiwi, qiwi.pl, verified: `account % 10` must equal the
sum of the digits of `account / 10`, mod 10, else result 4).  It catches a
mistyped digit at the terminal before the payment goes to a stranger."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^\d+$")


def check_digit(number: str) -> str:
    """The check digit of a number made of digits only."""
    if not _DIGITS.match(number or ""):
        raise ValueError("the check digit is defined for digits only")
    return str(sum(int(d) for d in number) % 10)


def with_check_digit(number: str) -> str:
    """The identifier a subscriber types at a terminal: number + digit."""
    return number + check_digit(number)


def strip_check_digit(identifier: str) -> str | None:
    """The agreement number inside `identifier`, or None when it is not
    digits, too short, or its last digit does not match."""
    if not _DIGITS.match(identifier or "") or len(identifier) < 2:
        return None
    number, digit = identifier[:-1], identifier[-1]
    return number if check_digit(number) == digit else None
