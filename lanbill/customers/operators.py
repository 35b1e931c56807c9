"""Operators: the ISP itself and its branches, with the requisites its
documents carry (DESIGN §3); the default one is what new agreements get."""

from __future__ import annotations

from lanbill.db import transaction
from lanbill.errors import N_
from lanbill.models import Operator
from lanbill.records import (
    EMAIL,
    check_version,
    clean_digits,
    clean_int,
    clean_text,
    get_record,
    raise_if_any,
)
from lanbill.staff import audit


def default_operator() -> Operator:
    """The operator marked default, else the first one."""
    return Operator.select().order_by(Operator.is_default.desc(), Operator.id).first()



OPERATOR_TEXT = ("name", "inn", "kpp", "ogrn", "bank_name", "bik", "corr_account", "settlement_account",
                 "address", "director", "chief_accountant", "phone", "email")


def clean_operator(data: dict) -> dict:
    """An operator's requisites (DESIGN §3): name required; INN 10 or 12
    digits, KPP 9, OGRN 13 or 15, BIK 9, accounts 20; VAT 0–100 %."""
    errors: dict = {}
    out = {key: clean_text(data, key, errors, required=(key == "name"), limit=4000 if key == "address" else 255)
           for key in OPERATOR_TEXT}
    clean_digits(out["inn"], "inn", (10, 12), errors)
    clean_digits(out["kpp"], "kpp", (9,), errors)
    clean_digits(out["ogrn"], "ogrn", (13, 15), errors)
    clean_digits(out["bik"], "bik", (9,), errors)
    clean_digits(out["corr_account"], "corr_account", (20,), errors)
    clean_digits(out["settlement_account"], "settlement_account", (20,), errors)
    if out["email"] and not EMAIL.match(out["email"]):
        errors["email"] = N_("Not an e-mail address.")
    out["vat_percent"] = clean_int(data, "vat_percent", errors, 0, 100, default=20)
    out.update(clean_document_requisites(data, errors))
    raise_if_any(errors)
    return out


DOCUMENT_TEXT = {"no_vat_basis": 255, "director_position": 128, "chief_accountant_position": 128,
                 "logo_path": 255, "document_prefix": 16}


def clean_document_requisites(data: dict, errors: dict) -> dict:
    """What documents print besides the requisites (DESIGN §12): whether the
    operator pays VAT ("в т.ч. НДС" and VAT invoices) or writes "Без НДС"
    with its legal basis; the positions of the signing persons; a logo
    file inside the instance folder; a prefix before document numbers."""
    out = {key: clean_text(data, key, errors, limit=limit) for key, limit in DOCUMENT_TEXT.items()}
    out["is_vat_payer"] = bool(data.get("is_vat_payer"))
    logo = out["logo_path"]
    if logo and (logo.startswith("/") or ".." in logo.split("/")):
        errors["logo_path"] = N_("A path inside the instance folder, for example uploads/logo.png.")
    return out


def create_operator(data: dict, *, actor) -> Operator:
    fields = clean_operator(data)
    with transaction():
        operator = Operator.create(**fields)
        audit.record(actor, "operator.create", "operator", operator.id, after=fields)
    return operator


def update_operator(operator_id, data: dict, *, actor, version=None) -> Operator:
    """Change requisites (seed 004: first rename "Default operator")."""
    fields = clean_operator(data)
    with transaction():
        current = get_record(Operator, operator_id)
        check_version(current, version)
        before = {k: getattr(current, k) for k in fields}
        old, new = audit.diff(before, fields)
        Operator.update(version=Operator.version + 1, **fields).where(Operator.id == current.id).execute()
        audit.record(actor, "operator.update", "operator", current.id, before=old, after=new)
    return Operator.get_by_id(current.id)


def make_default_operator(operator_id, *, actor) -> Operator:
    """The default operator is the one new agreements get."""
    with transaction():
        current = get_record(Operator, operator_id)
        Operator.update(is_default=False, version=Operator.version + 1).where(
            Operator.is_default == True  # noqa: E712
        ).execute()
        Operator.update(is_default=True, version=Operator.version + 1).where(Operator.id == current.id).execute()
        audit.record(actor, "operator.default", "operator", current.id, after={"is_default": True})
    return Operator.get_by_id(current.id)

