"""Helpers of the payment-system tests: a registry payment system made
directly (its configuration screens live elsewhere), sample files, and the
Sberbank-style layout."""

from __future__ import annotations

from pathlib import Path

from lanbill.models.paysys import PaymentSystem
from tests.factories import make_agreement, make_subscriber

DATA = Path(__file__).resolve().parent.parent / "data" / "registries"

SBER_LAYOUT = {
    "encoding": "auto",
    "delimiter": ";",
    "header_lines": 0,
    "columns": {"date": 1, "transaction_id": 4, "agreement": 5, "comment": 6, "amount": 8},
    "date_format": "%d.%m.%Y",
    "control": "last_line",
    "control_prefix": "=",
    "control_count_field": 1,
    "control_amount_field": 2,
}


def make_registry_system(code="bank", layout=None, **over) -> PaymentSystem:
    data = {"code": code, "name": f"Банк {code}", "kind": "registry",
            "options": {"registry": layout} if layout is not None else {}}
    data.update(over)
    return PaymentSystem.create(**data)


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def make_numbered_agreements(*numbers, **subscriber_over):
    """Agreements with the given numbers, each of its own subscriber."""
    return {number: make_agreement(make_subscriber(**subscriber_over), number=number) for number in numbers}
