"""The GOST R 56042-2014 payment QR printed on invoices (DOMAIN-RULES §3.7)."""

from __future__ import annotations

from decimal import Decimal

import segno

from lanbill.db import to_minor

# A value may not carry the separator; the standard has no escaping.
_FORBIDDEN = str.maketrans({"|": " ", "\n": " ", "\r": " "})


def payment_payload(seller: dict, amount: Decimal | None, purpose: str, personal_account: str = "",
                    payer_inn: str = "") -> str:
    """`ST00012|Name=…|PersonalAcc=…|BankName=…|BIC=…|CorrespAcc=…|…`: the
    header ST0001 with encoding 2 (UTF-8), the five mandatory keys, then
    PayeeINN, KPP, Sum in kopecks, Purpose, PersAcc (the agreement number)
    and PayerINN where known (DOMAIN-RULES §3.7)."""
    pairs = [
        ("Name", seller.get("name", "")),
        ("PersonalAcc", seller.get("settlement_account", "")),
        ("BankName", seller.get("bank_name", "")),
        ("BIC", seller.get("bik", "")),
        ("CorrespAcc", seller.get("corr_account", "")),
    ]
    optional = [
        ("PayeeINN", seller.get("inn", "")),
        ("KPP", seller.get("kpp", "")),
        ("Sum", str(to_minor(amount)) if amount is not None and amount > 0 else ""),
        ("Purpose", purpose),
        ("PersAcc", personal_account),
        ("PayerINN", payer_inn),
    ]
    pairs += [(k, v) for k, v in optional if v]
    return "ST00012|" + "|".join(f"{k}={str(v).translate(_FORBIDDEN).strip()}" for k, v in pairs)


def has_bank_requisites(seller: dict) -> bool:
    """A QR needs the five mandatory keys; without them none is printed."""
    return all(seller.get(k) for k in ("name", "settlement_account", "bank_name", "bik", "corr_account"))


def qr_data_uri(payload: str) -> str:
    """The QR as a PNG data URI for the template's <img>.  PNG rather than
    SVG, and a fixed mask pattern (any of the eight is valid; choosing the
    "best" one scores all eight): together they took most of an invoice's
    rendering time."""
    return segno.make(payload, error="m", micro=False, encoding="utf-8", mask=0).png_data_uri(scale=4, border=2)
