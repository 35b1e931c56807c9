"""Helpers for the document tests: an operator with full requisites,
charges and payments posted through the ledger, PDFs read back as text."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import post_payment
from lanbill.models import Operator
from tests.factories import ACTOR, make_agreement, make_subscriber

REQUISITES = {
    "name": 'ООО "Сеть"', "inn": "7701234567", "kpp": "770101001", "ogrn": "1027700000000",
    "bank_name": 'ПАО "Банк"', "bik": "044525225", "corr_account": "30101810400000000225",
    "settlement_account": "40702810900000012345", "address": "г. Москва, ул. Ленина, д. 1",
    "director": "Петров П. П.", "chief_accountant": "Сидорова С. С.",
    "director_position": "Генеральный директор", "chief_accountant_position": "Главный бухгалтер",
}


def set_requisites(vat_payer: bool = False, vat_percent: int = 22, **over) -> Operator:
    operator = Operator.get(Operator.is_default == True)  # noqa: E712
    for key, value in {**REQUISITES, **over}.items():
        setattr(operator, key, value)
    operator.is_vat_payer = vat_payer
    operator.vat_percent = vat_percent
    operator.save()
    return operator


def agreement_with(delivery: str = "email", kind: str = "individual", **subscriber):
    data = {"delivery_method": delivery, "kind": kind, **subscriber}
    if kind == "legal":
        data.setdefault("name", 'ООО "Ромашка"')
        data.setdefault("inn", "7705555555")
        data.setdefault("kpp", "770501001")
    return make_agreement(make_subscriber(**data))


def charge(agreement, amount: str, kind: str = "rent", day: dt.date | None = None, **kw):
    day = day or dt.date(2026, 11, 1)
    entry, _ = post_entry(agreement, -Decimal(amount), kind, actor=ACTOR, period_start=day, period_end=day,
                          **kw)
    return entry


def pay(agreement, amount: str, number: str = "1"):
    return post_payment(agreement, Decimal(amount), number, actor=ACTOR)


def pdf_text(path) -> str:
    """The PDF as text (poppler's pdftotext), runs of white space as one space."""
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def pdf_bytes_text(data: bytes, tmp: Path) -> str:
    path = tmp / "read.pdf"
    path.write_bytes(data)
    return pdf_text(path)
