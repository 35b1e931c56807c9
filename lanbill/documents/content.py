"""What each kind of document says (DESIGN §12, DOMAIN-RULES §5): the
seller's and buyer's requisites, the lines, the totals with VAT, and for
the reconciliation statement the ledger rows of the period.

Everything here is read once, when the document is issued, and kept on
the document (`lines`, `data`): the PDF is rendered from that snapshot,
so a later change of requisites or tariffs never changes an issued
document."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

import peewee

from lanbill.clock import local_date_of, midnight_utc
from lanbill.customers.addresses import address_texts
from lanbill.db import CENT, from_minor
from lanbill.documents.qr import has_bank_requisites, payment_payload
from lanbill.documents.vat import vat_included
from lanbill.documents.words import amount_in_words
from lanbill.errors import N_, ValidationError
from lanbill.models import Account, LedgerEntry, Operator, Payment, Service, Subscriber, Tariff
from lanbill.models.documents import DOCUMENT_KINDS
from lanbill.money import MoneyError, parse_money

# Charges that go into acts: what the subscriber got for the money
# (DESIGN §4 kinds); payments and manual corrections are not services.
CHARGE_KINDS = ("rent", "rent_correction", "service", "volume", "time", "one_off")

TITLES = {
    "invoice": "Счет на оплату",
    "prepayment_invoice": "Счет на предоплату",
    "act": "Акт оказанных услуг",
    "vat_invoice": "Счет-фактура",
    "upd": "Универсальный передаточный документ",
    "reconciliation": "Акт сверки взаимных расчетов",
}

# The text of each ledger kind in a reconciliation statement.
ENTRY_TEXT = {
    "payment": "Оплата",
    "payment_reversal": "Отмена оплаты",
    "rent": "Абонентская плата",
    "rent_correction": "Перерасчет абонентской платы",
    "service": "Услуга",
    "volume": "Трафик",
    "time": "Повременная оплата",
    "one_off": "Разовая услуга",
    "correction": "Корректировка баланса",
}

# Units with their ОКЕИ codes (DOMAIN-RULES §5): rent by the month, the rest as pieces.
MONTH_UNIT = ("мес", "362")
PIECE_UNIT = ("шт", "796")

# Periods no longer than this (a reconciliation statement for ten years is
# a mistake, and would render thousands of pages).
MAX_PERIOD_DAYS = 3 * 366


@dataclass
class Content:
    kind: str
    date: dt.date
    period_start: dt.date | None
    period_end: dt.date | None
    amount: Decimal
    vat_percent: int | None
    vat_amount: Decimal
    lines: list = field(default_factory=list)
    data: dict = field(default_factory=dict)


@dataclass
class Prefetched:
    """What the monthly run reads for a whole chunk of agreements at once
    (lanbill.documents.monthly), handed to `build` instead of a query per
    document: the buyer's address text, the period's charge rows of the
    agreement (as `charge_rows` returns them) and the names of tariffs and
    services."""
    address: str = ""
    charges: list = field(default_factory=list)
    tariffs: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)


def month_period(month: str) -> tuple[dt.date, dt.date]:
    """"2026-11" → (2026-11-01, 2026-11-30)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = dt.date(year, number, 1)
    except (ValueError, AttributeError):
        raise ValidationError(N_("Give the month as YYYY-MM, for example 2026-11."),
                              fields={"period": N_("Not a month.")}) from None
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def parse_period(text) -> tuple[dt.date, dt.date]:
    """A month "YYYY-MM" or a range "YYYY-MM-DD..YYYY-MM-DD" (the API's and
    the forms' `period`); the first day not after the last, at most
    MAX_PERIOD_DAYS long."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(N_("Give the period."), fields={"period": N_("Required.")})
    text = text.strip()
    if ".." not in text:
        return month_period(text)
    first_text, _, last_text = text.partition("..")
    try:
        first, last = dt.date.fromisoformat(first_text.strip()), dt.date.fromisoformat(last_text.strip())
    except ValueError:
        raise ValidationError(N_("Give the period as YYYY-MM or YYYY-MM-DD..YYYY-MM-DD."),
                              fields={"period": N_("Not a period.")}) from None
    return check_period(first, last)


def check_period(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    if first > last:
        raise ValidationError(N_("The period ends before it starts."), fields={"period": N_("Not a period.")})
    if (last - first).days > MAX_PERIOD_DAYS:
        raise ValidationError(N_("The period is too long: at most three years."),
                              fields={"period": N_("Not a period.")})
    return first, last


def parse_amount(value) -> Decimal:
    """A positive amount with at most two decimals (lanbill.money rules)."""
    try:
        return parse_money(value, allow_negative=False, allow_zero=False)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"amount": exc.message}) from None


# --- requisites -------------------------------------------------------------------


def seller_of(operator: Operator) -> dict:
    """The operator's requisites as they stand now (DESIGN §3: name, INN,
    KPP, OGRN, bank, BIK, accounts, address, VAT, director, chief accountant)."""
    return {
        "name": operator.name, "inn": operator.inn, "kpp": operator.kpp, "ogrn": operator.ogrn,
        "address": operator.address, "phone": operator.phone, "email": operator.email,
        "bank_name": operator.bank_name, "bik": operator.bik, "corr_account": operator.corr_account,
        "settlement_account": operator.settlement_account,
        "director": operator.director, "director_position": operator.director_position,
        "chief_accountant": operator.chief_accountant,
        "chief_accountant_position": operator.chief_accountant_position,
        "logo_path": operator.logo_path, "is_vat_payer": bool(operator.is_vat_payer),
        "vat_percent": operator.vat_percent, "no_vat_basis": operator.no_vat_basis,
    }


def buyer_of(subscriber: Subscriber, address: str | None = None) -> dict:
    """The subscriber's requisites documents print: no passport data.
    `address` is the main address's text when already read."""
    legal = subscriber.kind == "legal"
    if address is None:
        address_id = subscriber.main_address_id
        address = address_texts([address_id]).get(address_id, "") if address_id else ""
    return {
        "name": subscriber.name, "kind": subscriber.kind, "inn": subscriber.inn,
        "kpp": subscriber.kpp if legal else "", "address": address,
        "director": subscriber.director if legal else "", "acting_basis": subscriber.acting_basis if legal else "",
        "bank_name": subscriber.bank_name if legal else "", "bik": subscriber.bik if legal else "",
        "settlement_account": subscriber.settlement_account if legal else "",
        "corr_account": subscriber.corr_account if legal else "",
    }


# --- lines --------------------------------------------------------------------------


def _charges_in(agreement_ids, first: dt.date, last: dt.date):
    """The charges of the period: by the days they are for (period_start),
    or, for a charge without days (a one-off), by the day it was booked."""
    since, until = midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))
    of = (LedgerEntry.agreement.in_(agreement_ids) if isinstance(agreement_ids, (list, tuple, set))
          else LedgerEntry.agreement == agreement_ids)
    return (LedgerEntry.select(LedgerEntry.kind, LedgerEntry.tariff_id, LedgerEntry.service_id,
                               LedgerEntry.amount)
            .where(of & LedgerEntry.kind.in_(CHARGE_KINDS)
                   & (LedgerEntry.period_start.between(first, last)
                      | (LedgerEntry.period_start.is_null() & (LedgerEntry.created_at >= since)
                         & (LedgerEntry.created_at < until)))))


def charge_rows(agreement_ids: list[int], first: dt.date, last: dt.date) -> dict[int, list[tuple]]:
    """{agreement id: [(kind, tariff id, service id, amount), …] in booking
    order}: the period's charges of many agreements in one query."""
    out: dict[int, list[tuple]] = {aid: [] for aid in agreement_ids}
    query = (_charges_in(list(agreement_ids), first, last).select_extend(LedgerEntry.agreement)
             .order_by(LedgerEntry.id).tuples())
    for kind, tariff_id, service_id, amount, agreement_id in query.iterator():
        out[agreement_id].append((kind, tariff_id, service_id, amount))
    return out


def names_of(model, ids) -> dict[int, str]:
    """{id: name} of tariffs or services."""
    ids = set(ids) - {None}
    return dict(model.select(model.id, model.name).where(model.id.in_(ids)).tuples()) if ids else {}


def charge_lines(agreement_id: int, first: dt.date, last: dt.date,
                 prefetched: Prefetched | None = None) -> list[tuple[str, tuple, Decimal]]:
    """One line per service kind (DESIGN §12): rent with its corrections
    per tariff, each service per service, traffic, time — each the sum of
    its charges in the period, as a positive amount.  Lines that sum to zero
    (a whole month refunded) are left out."""
    groups: OrderedDict = OrderedDict()
    tariff_ids, service_ids = set(), set()
    rows = prefetched.charges if prefetched is not None else \
        _charges_in(agreement_id, first, last).order_by(LedgerEntry.id).tuples().iterator()
    for kind, tariff_id, service_id, amount in rows:
        if kind in ("rent", "rent_correction"):
            key = ("rent", tariff_id)
            tariff_ids.add(tariff_id)
        elif kind in ("service", "one_off"):
            key = (kind, service_id)
            service_ids.add(service_id)
        else:
            key = (kind, None)
        groups[key] = groups.get(key, Decimal("0.00")) + amount
    if prefetched is not None:
        tariffs, services = prefetched.tariffs, prefetched.services
    else:
        tariffs, services = names_of(Tariff, tariff_ids), names_of(Service, service_ids)
    period = f"{first:%m.%Y}" if (first.day == 1 and last == month_period(f"{first:%Y-%m}")[1]) \
        else f"{first:%d.%m.%Y}–{last:%d.%m.%Y}"
    out = []
    for (kind, ref), summed in groups.items():
        total = -summed
        if total == 0:
            continue
        if kind == "rent":
            name = f"Услуги доступа в Интернет за {period}"
            if ref in tariffs:
                name += f", тариф «{tariffs[ref]}»"
            out.append((name, MONTH_UNIT, total))
        elif kind in ("service", "one_off"):
            name = services.get(ref) or ENTRY_TEXT[kind]
            out.append((f"{name} за {period}" if kind == "service" else name, PIECE_UNIT, total))
        elif kind == "volume":
            out.append((f"Трафик сверх предоплаченного объема за {period}", PIECE_UNIT, total))
        else:
            out.append((f"Повременная оплата доступа за {period}", PIECE_UNIT, total))
    return out


def month_charges_total(agreement_id: int, first: dt.date, last: dt.date) -> Decimal:
    """What the period's charges add up to (positive): the act's total."""
    total = peewee.fn.COALESCE(peewee.fn.SUM(LedgerEntry.amount), 0).coerce(False)
    minor = _charges_in(agreement_id, first, last).select(total).scalar()
    return -from_minor(minor or 0)


def expected_rent_lines(agreement, first: dt.date, last: dt.date) -> list[tuple[str, tuple, Decimal]]:
    """For an invoice for a period not yet charged: the monthly rent of each
    live account's tariff (a whole month; a period of other length pays
    its days, R·days/M summed over the months it covers)."""
    rents: OrderedDict = OrderedDict()
    accounts = (Account.select(Account.id, Tariff.id, Tariff.name, Tariff.rent).join(Tariff)
                .where((Account.agreement == agreement.id) & (Account.state != "off")))
    for account in accounts:
        rents.setdefault((account.tariff.id, account.tariff.name, account.tariff.rent), 0)
        rents[(account.tariff.id, account.tariff.name, account.tariff.rent)] += 1
    out = []
    for (_, name, rent), count in rents.items():
        total = Decimal("0.00")
        day = first
        while day <= last:
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            month_last = min(last, day.replace(day=days_in_month))
            days = (month_last - day).days + 1
            total += (rent * days / days_in_month).quantize(CENT)
            day = month_last + dt.timedelta(days=1)
        total *= count
        if total:
            out.append((f"Услуги доступа в Интернет за {first:%d.%m.%Y}–{last:%d.%m.%Y}, тариф «{name}»",
                        MONTH_UNIT, total))
    return out


def priced_lines(raw: list[tuple[str, tuple, Decimal]], vat_percent: int | None) -> tuple[list, Decimal, Decimal]:
    """Lines with quantity 1, the amount, and the VAT inside each line
    ("в т.ч. НДС", DOMAIN-RULES §5); the total VAT is the sum of the lines'
    VAT, as a VAT invoice prints it per line.  Returns (lines, total, VAT)."""
    lines, total, vat_total = [], Decimal("0.00"), Decimal("0.00")
    for name, (unit, okei), amount in raw:
        vat = vat_included(amount, vat_percent) if vat_percent else Decimal("0.00")
        lines.append({"name": name, "unit": unit, "okei": okei, "quantity": "1", "price": str(amount),
                      "amount": str(amount), "vat_amount": str(vat), "amount_without_vat": str(amount - vat)})
        total += amount
        vat_total += vat
    return lines, total, vat_total


# --- the kinds ---------------------------------------------------------------------------


def build(kind: str, agreement, *, on: dt.date, period: tuple[dt.date, dt.date] | None = None,
          amount: Decimal | None = None, prefetched: Prefetched | None = None) -> Content:
    """The content of a document of `kind` for `agreement` (loaded with its
    operator and subscriber) issued on `on`.

    - invoice: for `amount` (one line) or for a `period` (its charges, or,
      while it has none, the expected rent of the accounts);
    - prepayment_invoice: for `amount` (seed 002 «Счет на предоплату»);
    - act, vat_invoice, upd: the period's charges, one line per service kind;
      refused when they add up to nothing (a document is made only for a
      sum > 0); vat_invoice only for an operator that pays VAT; УПД status 1
      for VAT payers, 2 otherwise (DOMAIN-RULES §5);
    - reconciliation: the ledger of the period — opening balance, every
      entry, closing balance, equal to the ledger to the kopeck.

    `prefetched` (the monthly run) holds what would otherwise be read here.
    """
    if kind not in DOCUMENT_KINDS:
        raise ValidationError(N_("Unknown kind of document."), fields={"kind": N_("Unknown kind of document.")})
    operator, subscriber = agreement.operator, agreement.subscriber
    seller = seller_of(operator)
    vat_percent = operator.vat_percent if operator.is_vat_payer else None
    buyer = buyer_of(subscriber, prefetched.address if prefetched is not None else None)
    data = {"title": TITLES[kind], "seller": seller, "buyer": buyer,
            "agreement": {"number": agreement.number, "date": str(agreement.date)},
            "currency": agreement.currency.code if hasattr(agreement.currency, "code") else "RUB"}
    if kind == "reconciliation":
        if period is None:
            raise ValidationError(N_("Give the period."), fields={"period": N_("Required.")})
        return _reconciliation(agreement, on, period, data)
    first = last = None
    if kind in ("invoice", "prepayment_invoice") and amount is not None:
        amount = amount if isinstance(amount, Decimal) else parse_amount(amount)
        text = ("Предоплата за услуги связи" if kind == "prepayment_invoice" else "Оплата услуг связи")
        raw = [(f"{text} по договору № {agreement.number}", PIECE_UNIT, amount)]
    elif kind == "prepayment_invoice":
        raise ValidationError(N_("Give the amount of the prepayment."), fields={"amount": N_("Required.")})
    else:
        if period is None:
            raise ValidationError(N_("Give the period."), fields={"period": N_("Required.")})
        first, last = period
        raw = charge_lines(agreement.id, first, last, prefetched)
        if kind == "invoice" and not raw:
            raw = expected_rent_lines(agreement, first, last)
    if kind == "vat_invoice" and not operator.is_vat_payer:
        raise ValidationError(N_("The operator does not pay VAT: it issues no VAT invoices."),
                              fields={"kind": N_("Only for an operator that pays VAT.")})
    lines, total, vat_total = priced_lines(raw, vat_percent)
    if total <= 0:
        raise ValidationError(N_("Nothing to put in the document: no charges in the period."),
                              fields={"period": N_("No charges in the period.")})
    date = on if last is None or kind == "invoice" else min(on, last)
    data["amount_words"] = amount_in_words(total)
    data["vat_words"] = amount_in_words(vat_total) if vat_percent else ""
    data["purpose"] = f"Оплата услуг связи по договору № {agreement.number}"
    if kind == "upd":
        data["upd_status"] = 1 if operator.is_vat_payer else 2
    if kind in ("invoice", "prepayment_invoice") and has_bank_requisites(seller):
        data["qr"] = payment_payload(seller, total, data["purpose"], agreement.number, data["buyer"]["inn"])
    return Content(kind, date, first, last, total, vat_percent, vat_total, lines, data)


def _reconciliation(agreement, on: dt.date, period, data: dict) -> Content:
    first, last = period
    since, until = midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))
    opening_minor = (LedgerEntry.select(peewee.fn.COALESCE(peewee.fn.SUM(LedgerEntry.amount), 0).coerce(False))
                     .where((LedgerEntry.agreement == agreement.id) & (LedgerEntry.created_at < since))
                     .scalar()) or 0
    entries = list(LedgerEntry.select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.created_at,
                                      LedgerEntry.payment_id, LedgerEntry.period_start, LedgerEntry.period_end)
                   .where((LedgerEntry.agreement == agreement.id) & (LedgerEntry.created_at >= since)
                          & (LedgerEntry.created_at < until))
                   .order_by(LedgerEntry.created_at, LedgerEntry.id))
    payment_ids = {e.payment_id for e in entries if e.payment_id}
    numbers = dict(Payment.select(Payment.id, Payment.document_number).where(Payment.id.in_(payment_ids)).tuples()) \
        if payment_ids else {}
    opening = from_minor(opening_minor)
    rows, debit, credit = [], Decimal("0.00"), Decimal("0.00")
    for e in entries:
        text = ENTRY_TEXT.get(e.kind, e.kind)
        if e.payment_id and numbers.get(e.payment_id):
            text += f", документ № {numbers[e.payment_id]}"
        if e.period_start:
            text += f" за {e.period_start:%d.%m.%Y}"
            if e.period_end and e.period_end != e.period_start:
                text += f"–{e.period_end:%d.%m.%Y}"
        row = {"date": str(local_date_of(e.created_at)), "text": text, "debit": "", "credit": ""}
        if e.amount < 0:
            row["debit"] = str(-e.amount)
            debit -= e.amount
        else:
            row["credit"] = str(e.amount)
            credit += e.amount
        rows.append(row)
    closing = opening + credit - debit
    data.update({
        "rows": rows, "opening": str(opening), "closing": str(closing), "debit_total": str(debit),
        "credit_total": str(credit), "period_text": f"{first:%d.%m.%Y}–{last:%d.%m.%Y}",
        "amount_words": amount_in_words(abs(closing)),
    })
    return Content("reconciliation", on, first, last, closing, None, Decimal("0.00"), [], data)
