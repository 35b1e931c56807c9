"""Money is exact (DESIGN §4): Decimal amounts, integer minor units in the
database, and one pair of conversions between them (lanbill.db)."""

from __future__ import annotations

import pathlib
import re
from decimal import Decimal

import pytest

from lanbill.db import from_minor, to_minor

ROOT = pathlib.Path(__file__).resolve().parents[2] / "lanbill"
DOMAIN_ROOMS = ("billing", "customers", "staff")
HAND_CONVERSION = re.compile(r"[/*]\s*100\b(?!\s*[_0-9])|\b100\s*\*")


def test_minor_units_round_trip_exactly():
    for text in ("0.00", "0.01", "650.50", "-1234.56", "999999999.99"):
        amount = Decimal(text)
        assert from_minor(to_minor(amount)) == amount
    assert from_minor(150) == Decimal("1.50") and str(from_minor(-5)) == "-0.05"
    assert to_minor(12) == 1200


def test_minor_units_refuse_floats_and_fractions_of_a_kopeck():
    with pytest.raises(TypeError):
        to_minor(1.5)
    with pytest.raises(ValueError):
        to_minor(Decimal("0.005"))


def test_domain_rooms_convert_money_only_through_the_helpers():
    """No hand-written `/ 100` or `* 100` in the domain rooms: minor units
    go through lanbill.db's to_minor/from_minor (or MoneyField)."""
    found = []
    for room in DOMAIN_ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if HAND_CONVERSION.search(line.split("#", 1)[0]):
                    found.append(f"{path.relative_to(ROOT.parent)}:{number}: {line.strip()}")
    assert found == []
