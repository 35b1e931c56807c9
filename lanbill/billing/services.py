"""Periodic and one-off services (USBox, seed 002 «Тарификация»): the
catalogue, services attached to accounts, one-off charges and the CSV
import of rendered one-off services.

A periodic service is charged by billing.rent with the scheme of its
catalogue entry (monthly, daily or dynamic) at price × quantity for the
days between its start and end dates.  A one-off service is charged once,
on its start date (the date it was rendered), with an idempotency key on
the attachment, so the sweep in the billing run and the import never
charge it twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from lanbill.billing import audit
from lanbill.billing.actor import job
from lanbill.billing.clock import today
from lanbill.billing.currency import NoRate, convert
from lanbill.billing.errors import N_, Conflict, NotFound, ValidationError
from lanbill.billing.ledger import idempotency_key, post_entry
from lanbill.db import transaction
from lanbill.models import Account, AccountService, Agreement, Currency, LedgerEntry, Service
from lanbill.models.tariffs import SCHEMES
from lanbill.money import MoneyError, parse_money

SERVICE_KINDS = ("periodic", "one_off")


def create_service(data: dict, *, actor) -> Service:
    """A catalogue entry: name, kind (periodic|one_off), scheme, price, currency."""
    errors = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = N_("Required.")
    kind = data.get("kind", "periodic")
    if kind not in SERVICE_KINDS:
        errors["kind"] = N_("One of periodic, one_off.")
    scheme = data.get("scheme", "daily")
    if scheme not in SCHEMES:
        errors["scheme"] = N_("One of monthly, daily, dynamic.")
    price = None
    try:
        price = parse_money(data.get("price", "0"), allow_negative=False)
    except MoneyError as exc:
        errors["price"] = exc.message
    currency = None
    if data.get("currency"):
        currency = Currency.get_or_none(Currency.code == str(data["currency"]).upper())
        if currency is None:
            errors["currency"] = N_("Unknown currency.")
    else:
        from lanbill.billing.agreements import default_currency

        currency = default_currency()
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    with transaction():
        service = Service.create(name=name.strip(), kind=kind, scheme=scheme, price=price, currency=currency)
        audit.record(actor, "service.create", "service", service.id,
                     after={"name": service.name, "kind": kind, "scheme": scheme, "price": str(price)})
    return service


def _parse_date(value, field_name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(N_("Not a date."), fields={field_name: N_("Not a date.")})


def attach_service(account, service, *, actor, start_date=None, end_date=None, quantity: int = 1,
                   comment: str = "", amount=None) -> AccountService:
    """Attach a catalogue service to an account for start..end (both
    included).  A one-off service is charged at once when its date has
    come (price × quantity, or `amount` when given)."""
    account = account if isinstance(account, Account) else Account.get_or_none(Account.id == account)
    if account is None:
        raise NotFound(N_("Account not found."))
    if account.deleted:
        raise Conflict(N_("The account is deleted."))
    service = service if isinstance(service, Service) else Service.get_or_none(Service.id == service)
    if service is None or service.archived:
        raise ValidationError(N_("No such service."), fields={"service_id": N_("No such service.")})
    start = _parse_date(start_date, "start_date") if start_date else today()
    end = _parse_date(end_date, "end_date") if end_date else None
    if end is not None and end < start:
        raise ValidationError(N_("The end date is before the start date."),
                              fields={"end_date": N_("Before the start.")})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError(N_("Quantity must be a whole number, 1 or more."),
                              fields={"quantity": N_("1 or more.")})
    if amount is not None:
        try:
            amount = parse_money(amount, allow_negative=False)
        except MoneyError as exc:
            raise ValidationError(exc.message, fields={"amount": exc.message}) from None
    with transaction():
        attached = AccountService.create(account=account.id, service=service.id, start_date=start, end_date=end,
                                         quantity=quantity, comment=(comment or "").strip())
        audit.record(actor, "account.service", "account", account.id,
                     after={"service": service.id, "start": str(start), "end": str(end) if end else None,
                            "quantity": quantity})
        if service.kind == "one_off" and start <= today():
            charge_one_off(attached, actor=actor, amount=amount)
    return attached


def end_service(attached, end_date=None, *, actor) -> AccountService:
    """Stop a periodic service after `end_date` (default today)."""
    attached = attached if isinstance(attached, AccountService) else AccountService.get_or_none(
        AccountService.id == attached)
    if attached is None:
        raise NotFound(N_("Service not found."))
    end = _parse_date(end_date, "end_date") if end_date else today()
    if end < attached.start_date:
        raise ValidationError(N_("The end date is before the start date."),
                              fields={"end_date": N_("Before the start.")})
    with transaction():
        AccountService.update(end_date=end).where(AccountService.id == attached.id).execute()
        audit.record(actor, "account.service_end", "account", attached.account_id,
                     after={"service": attached.service_id, "end": str(end)})
    return AccountService.get_by_id(attached.id)


def one_off_key(attached: AccountService, agreement_id: int) -> str:
    return idempotency_key(agreement_id, attached.account_id, "one_off", attached.id, attached.start_date)


def charge_one_off(attached: AccountService, *, actor=None, amount: Decimal | None = None) -> LedgerEntry | None:
    """Charge a one-off service once (keyed on the attachment)."""
    service = Service.get_by_id(attached.service_id)
    account = Account.get_by_id(attached.account_id)
    agreement = Agreement.get_by_id(account.agreement_id)
    original = amount if amount is not None else service.price * attached.quantity
    if not original:
        return None
    value, rate = convert(original, service.currency_id, agreement.currency_id, attached.start_date)
    extra = {}
    if rate is not None:
        extra = {"original_amount": original, "original_currency": Currency.get_by_id(service.currency_id).code,
                 "rate": rate}
    entry, _ = post_entry(
        agreement.id, -value, "one_off", actor=actor or job("bill"), account=account.id, service=service.id,
        period_start=attached.start_date, period_end=attached.start_date, comment=service.name,
        idempotency_key=one_off_key(attached, agreement.id), **extra,
    )
    return entry


def charge_due_one_offs(day: dt.date) -> int:
    """The run's sweep: one-off services dated up to `day` not yet charged."""
    rows = (
        AccountService.select(AccountService, Account.id, Account.agreement)
        .join(Service, on=(AccountService.service == Service.id))
        .switch(AccountService)
        .join(Account, on=(AccountService.account == Account.id))
        .where((Service.kind == "one_off") & (AccountService.start_date <= day)
               & (AccountService.start_date >= day - dt.timedelta(days=62)))
    )
    charged = 0
    for attached in rows:
        key = one_off_key(attached, attached.account.agreement_id)
        if LedgerEntry.select().where(LedgerEntry.idempotency_key == key).exists():
            continue
        try:
            if charge_one_off(attached) is not None:
                charged += 1
        except NoRate:
            continue
    return charged


# --- CSV import of rendered one-off services ------------------------------------

IMPORT_FIELDS = ("login", "account_id", "service", "date", "quantity", "amount", "comment")


@dataclass
class ImportReport:
    """What an import found: rows read, rows good, every bad row with its
    line number and reason, and (without dry-run) the attachments made."""

    dry_run: bool
    rows: int = 0
    good: int = 0
    errors: list = field(default_factory=list)  # (line, message)
    created: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_one_offs(text: str, mapping: dict, *, actor, dry_run: bool = True, delimiter: str | None = None,
                    service=None) -> ImportReport:
    """Import rendered one-off services from CSV text.

    `mapping` maps our fields to the file's column headers: `login` or
    `account_id` (which account), `service` (catalogue name or id; or pass
    `service` for every row), `date` (YYYY-MM-DD or DD.MM.YYYY), optional
    `quantity`, `amount` (overrides price × quantity) and `comment`.
    Every row is checked first; a dry run only reports.  A real run with
    any bad row imports nothing (DESIGN §9: nothing half-saved)."""
    unknown = set(mapping) - set(IMPORT_FIELDS)
    if unknown:
        raise ValidationError(N_("Unknown fields in the column mapping: %(names)s."),
                              fields={"mapping": N_("Unknown field.")}, names=", ".join(sorted(unknown)))
    if "login" not in mapping and "account_id" not in mapping:
        raise ValidationError(N_("Map a column to the account (login or account_id)."),
                              fields={"mapping": N_("Account column missing.")})
    if "service" not in mapping and service is None:
        raise ValidationError(N_("Map a column to the service or choose one service for every row."),
                              fields={"mapping": N_("Service column missing.")})
    if "date" not in mapping:
        raise ValidationError(N_("Map a column to the date."), fields={"mapping": N_("Date column missing.")})
    if delimiter is None:
        sample = text[:2048]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    missing = [col for col in mapping.values() if col not in (reader.fieldnames or [])]
    report = ImportReport(dry_run=dry_run)
    if missing:
        report.errors.append((1, "No column " + ", ".join(missing) + " in the file"))
        return report
    fixed_service = None
    if service is not None:
        fixed_service = service if isinstance(service, Service) else Service.get_or_none(Service.id == service)
        if fixed_service is None or fixed_service.kind != "one_off":
            raise ValidationError(N_("No such one-off service."), fields={"service_id": N_("No such service.")})
    services_by_name = {s.name.lower(): s for s in Service.select().where(Service.kind == "one_off")}
    good = []
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        try:
            good.append(_check_row(row, mapping, fixed_service, services_by_name))
        except ValueError as exc:
            report.errors.append((line, str(exc)))
    report.good = len(good)
    if dry_run or report.errors:
        return report
    with transaction():
        for account, svc, day, quantity, amount, comment in good:
            report.created.append(attach_service(account, svc, actor=actor, start_date=day, quantity=quantity,
                                                 comment=comment, amount=amount))
    return report


def _check_row(row: dict, mapping: dict, fixed_service, services_by_name):
    def value(name):
        column = mapping.get(name)
        return (row.get(column) or "").strip() if column else ""

    account = None
    if value("account_id"):
        if not value("account_id").isdigit():
            raise ValueError(f"account_id {value('account_id')!r} is not a number")
        account = Account.get_or_none((Account.id == int(value("account_id"))) & (Account.deleted == False))  # noqa: E712
        if account is None:
            raise ValueError(f"no account {value('account_id')}")
    else:
        login = value("login")
        if not login:
            raise ValueError("the login is empty")
        found = list(Account.select().where((Account.login == login) & (Account.deleted == False)).limit(2))  # noqa: E712
        if not found:
            raise ValueError(f"no account with login {login!r}")
        if len(found) > 1:
            raise ValueError(f"login {login!r} belongs to several agents' accounts; use account_id")
        account = found[0]
    svc = fixed_service
    if svc is None:
        name = value("service")
        svc = Service.get_or_none((Service.id == int(name)) & (Service.kind == "one_off")) if name.isdigit() else None
        svc = svc or services_by_name.get(name.lower())
        if svc is None:
            raise ValueError(f"no one-off service {name!r}")
    try:
        day = _parse_date(value("date"), "date")
    except ValidationError:
        raise ValueError(f"date {value('date')!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)") from None
    if day > today():
        raise ValueError(f"date {day} is in the future")
    quantity = 1
    if value("quantity"):
        if not value("quantity").isdigit() or int(value("quantity")) < 1:
            raise ValueError(f"quantity {value('quantity')!r} is not a whole number, 1 or more")
        quantity = int(value("quantity"))
    amount = None
    if value("amount"):
        try:
            amount = parse_money(value("amount"), allow_negative=False)
        except MoneyError:
            raise ValueError(f"amount {value('amount')!r} is not an amount of money") from None
    return account, svc, day, quantity, amount, value("comment")
