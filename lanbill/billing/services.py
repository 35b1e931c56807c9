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

from lanbill.actor import job
from lanbill.billing.currency import NoRate, convert, default_currency
from lanbill.billing.ledger import idempotency_key, post_entry
from lanbill.clock import today
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Account, AccountService, Agreement, Currency, LedgerEntry, Service
from lanbill.models.tariffs import SCHEMES
from lanbill.money import MoneyError, parse_money
from lanbill.staff import access, audit

SERVICE_KINDS = ("periodic", "one_off")


def _clean_service(data: dict, *, partial: bool = False) -> dict:
    """Check a catalogue entry's fields; `partial` (an edit) checks only the
    fields given.  Raises ValidationError with every bad field at once."""
    errors, clean = {}, {}
    if not partial or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = N_("Required.")
        elif len(name.strip()) > 128:
            errors["name"] = N_("At most 128 characters.")
        else:
            clean["name"] = name.strip()
    if not partial or "kind" in data:
        clean["kind"] = data.get("kind") or "periodic"
        if clean["kind"] not in SERVICE_KINDS:
            errors["kind"] = N_("One of periodic, one_off.")
    if not partial or "scheme" in data:
        clean["scheme"] = data.get("scheme") or "daily"
        if clean["scheme"] not in SCHEMES:
            errors["scheme"] = N_("One of monthly, daily, dynamic.")
    if not partial or "price" in data:
        try:
            clean["price"] = parse_money(data.get("price", "0"), allow_negative=False)
        except MoneyError as exc:
            errors["price"] = exc.message
    if data.get("currency"):
        currency = Currency.get_or_none(Currency.code == str(data["currency"]).upper())
        if currency is None:
            errors["currency"] = N_("Unknown currency.")
        clean["currency"] = currency
    elif not partial:
        clean["currency"] = default_currency()
    if "archived" in data:
        clean["archived"] = bool(data["archived"])
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    return clean


def create_service(data: dict, *, actor) -> Service:
    """A catalogue entry: name, kind (periodic|one_off), scheme, price, currency."""
    clean = _clean_service(data)
    clean.pop("archived", None)
    with transaction():
        service = Service.create(**clean)
        audit.record(actor, "service.create", "service", service.id,
                     after={"name": service.name, "kind": service.kind, "scheme": service.scheme,
                            "price": str(service.price)})
    return service


def is_service_in_use(service) -> bool:
    service_id = service.id if isinstance(service, Service) else service
    return AccountService.select().where(AccountService.service == service_id).exists()


def update_service(service, data: dict, *, actor) -> Service:
    """Edit a catalogue entry (name, scheme, price, currency, archived).

    The kind and the currency are fixed once the service is attached to an
    account: a one-off attachment is keyed as charged once and a periodic one
    is charged day by day, so switching kinds (or currencies) under existing
    attachments would re-price history.  A new price applies to the days
    charged from now on, as with a tariff's rent.  Archived services are
    not offered for attaching; attachments already made go on (DESIGN §3:
    catalogue entries are archived, never deleted while in use)."""
    service = service if isinstance(service, Service) else Service.get_or_none(Service.id == service)
    if service is None:
        raise NotFound(N_("Service not found."))
    clean = _clean_service(data, partial=True)
    with transaction():
        current = Service.get_by_id(service.id)
        if is_service_in_use(current):
            fixed = {}
            if "kind" in clean and clean["kind"] != current.kind:
                fixed["kind"] = N_("Cannot change: the service is attached to accounts.")
            if "currency" in clean and clean["currency"].id != current.currency_id:
                fixed["currency"] = N_("Cannot change: the service is attached to accounts.")
            if fixed:
                raise Conflict(N_("The service is attached to accounts: its kind and currency stay."),
                               fields=fixed)
        before, after = {}, {}
        for key, value in clean.items():
            old = getattr(current, key + "_id") if key == "currency" else getattr(current, key)
            new = value.id if key == "currency" else value
            if old != new:
                before[key], after[key] = str(old), str(new)
            setattr(current, key, value)
        if after:
            current.save()
            audit.record(actor, "service.update", "service", current.id, before=before, after=after)
    return current


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
    # read afresh: a caller's copy may predate the service's archiving
    service = Service.get_or_none(Service.id == (service.id if isinstance(service, Service) else service))
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

IMPORT_FIELDS = ("login", "account_id", "agreement", "service", "date", "quantity", "amount", "comment")
ACCOUNT_FIELDS = ("login", "account_id", "agreement")


class RowMessage(str):
    """A bad row's reason: the English text (what the API answers) that also
    carries its msgid and parameters, so a screen can show it translated."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params):
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid, text.params = msgid, params
        return text


class RowError(ValueError):
    def __init__(self, msgid: str, **params):
        self.message = RowMessage(msgid, **params)
        super().__init__(self.message)


@dataclass
class ImportRow:
    """A good row as it would be booked: the amount is the one to charge
    (the file's, or price × quantity) in the service's currency."""

    line: int
    account: Account
    service: Service
    date: dt.date
    quantity: int
    amount: Decimal | None
    comment: str

    @property
    def total(self) -> Decimal:
        return self.amount if self.amount is not None else self.service.price * self.quantity


@dataclass
class ImportReport:
    """What an import found: rows read, rows good (`checked`, each as it
    would be booked), every bad row with its line number and reason, and
    (without dry-run) the attachments made."""

    dry_run: bool
    rows: int = 0
    good: int = 0
    errors: list = field(default_factory=list)  # (line, RowMessage)
    created: list = field(default_factory=list)
    checked: list = field(default_factory=list)  # ImportRow

    @property
    def ok(self) -> bool:
        return not self.errors


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV text, for the import of rendered services
    (here and in the admin's column mapping): ";" when the first 2 KB hold
    more semicolons than commas — what spreadsheets in Russian save —,
    else ","."""
    sample = text[:2048]
    return ";" if sample.count(";") > sample.count(",") else ","


def import_one_offs(text: str, mapping: dict, *, actor, dry_run: bool = True, delimiter: str | None = None,
                    service=None) -> ImportReport:
    """Import rendered one-off services from CSV text.

    `mapping` maps our fields to the file's column headers: which account —
    `account_id`, `login`, or `agreement` (the agreement number, for an
    agreement with exactly one live account); a row uses the first of them
    that is filled in —, `service` (catalogue name or id of a current
    one-off service; or pass `service` for every row), `date` (YYYY-MM-DD
    or DD.MM.YYYY, not in the future), optional `quantity`, `amount`
    (overrides price × quantity) and `comment`.
    A manager (the actor) may charge only accounts its groups cover
    (staff/access.py): any other is reported exactly like an account that
    does not exist, so neither the import nor its dry run reveals it.
    Every row is checked first; a dry run only reports.  A real run with
    any bad row imports nothing, and the good file is booked in one
    transaction (DESIGN §9: nothing half-saved)."""
    unknown = set(mapping) - set(IMPORT_FIELDS)
    if unknown:
        raise ValidationError(N_("Unknown fields in the column mapping: %(names)s."),
                              fields={"mapping": N_("Unknown field.")}, names=", ".join(sorted(unknown)))
    if not any(name in mapping for name in ACCOUNT_FIELDS):
        raise ValidationError(N_("Map a column to the account (login, account_id or agreement number)."),
                              fields={"mapping": N_("Account column missing.")})
    if "service" not in mapping and service is None:
        raise ValidationError(N_("Map a column to the service or choose one service for every row."),
                              fields={"mapping": N_("Service column missing.")})
    if "date" not in mapping:
        raise ValidationError(N_("Map a column to the date."), fields={"mapping": N_("Date column missing.")})
    fixed_service = None
    if service is not None:
        fixed_service = service if isinstance(service, Service) else Service.get_or_none(Service.id == service)
        if fixed_service is None or fixed_service.kind != "one_off" or fixed_service.archived:
            raise ValidationError(N_("No such one-off service."), fields={"service_id": N_("No such service.")})
    if delimiter is None:
        delimiter = csv_delimiter(text)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    missing = [col for col in mapping.values() if col not in (reader.fieldnames or [])]
    report = ImportReport(dry_run=dry_run)
    if missing:
        report.errors.append((1, RowMessage(N_("No column %(names)s in the file"), names=", ".join(missing))))
        return report
    manager = access.acting_manager(actor)
    current = Service.select().where((Service.kind == "one_off") & (Service.archived == False))  # noqa: E712
    services_by_name = {s.name.lower(): s for s in current}
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        try:
            report.checked.append(ImportRow(line, *_check_row(row, mapping, fixed_service, services_by_name,
                                                              manager)))
        except RowError as exc:
            report.errors.append((line, exc.message))
    report.good = len(report.checked)
    if dry_run or report.errors:
        return report
    with transaction():
        for good in report.checked:
            report.created.append(attach_service(good.account, good.service, actor=actor, start_date=good.date,
                                                 quantity=good.quantity, comment=good.comment,
                                                 amount=good.amount))
    return report


def _find_account(value, manager=None) -> Account:
    """The row's account among the live accounts `manager` may see (all of
    them without a manager)."""
    live = Account.deleted == False  # noqa: E712

    def accounts():
        query = Account.select()
        return query if manager is None else access.scope(query, manager, Account.subscriber)

    if value("account_id"):
        if not value("account_id").isdigit():
            raise RowError(N_("account_id %(value)r is not a number"), value=value("account_id"))
        account = accounts().where((Account.id == int(value("account_id"))) & live).first()
        if account is None:
            raise RowError(N_("no account %(value)s"), value=value("account_id"))
        return account
    if value("login"):
        login = value("login")
        found = list(accounts().where((Account.login == login) & live).limit(2))
        if not found:
            raise RowError(N_("no account with login %(login)r"), login=login)
        if len(found) > 1:
            raise RowError(N_("login %(login)r belongs to several agents' accounts; use account_id"), login=login)
        return found[0]
    if value("agreement"):
        number = value("agreement")
        agreement_query = Agreement.select().where(Agreement.number == number)
        if manager is not None:
            agreement_query = access.scope(agreement_query, manager, Agreement.subscriber)
        agreements = list(agreement_query.limit(2))
        if not agreements:
            raise RowError(N_("no agreement %(number)r"), number=number)
        if len(agreements) > 1:
            raise RowError(N_("agreement number %(number)r is used by several operators; use the login"),
                           number=number)
        found = list(accounts().where((Account.agreement == agreements[0].id) & live).limit(2))
        if not found:
            raise RowError(N_("agreement %(number)r has no accounts"), number=number)
        if len(found) > 1:
            raise RowError(N_("agreement %(number)r has several accounts; use the login"), number=number)
        return found[0]
    raise RowError(N_("the row names no account (login, account_id or agreement are empty)"))


def _check_row(row: dict, mapping: dict, fixed_service, services_by_name, manager=None):
    def value(name):
        column = mapping.get(name)
        return (row.get(column) or "").strip() if column else ""

    account = _find_account(value, manager)
    service = fixed_service
    if service is None:
        name = value("service")
        if name.isdigit():
            service = next((each for each in services_by_name.values() if each.id == int(name)), None)
        service = service or services_by_name.get(name.lower())
        if service is None:
            raise RowError(N_("no one-off service %(name)r"), name=name)
    try:
        day = _parse_date(value("date"), "date")
    except ValidationError:
        raise RowError(N_("date %(value)r is not a date (YYYY-MM-DD or DD.MM.YYYY)"), value=value("date")) from None
    if day > today():
        raise RowError(N_("date %(date)s is in the future"), date=day.isoformat())
    quantity = 1
    if value("quantity"):
        if not value("quantity").isdigit() or int(value("quantity")) < 1:
            raise RowError(N_("quantity %(value)r is not a whole number, 1 or more"), value=value("quantity"))
        quantity = int(value("quantity"))
    amount = None
    if value("amount"):
        try:
            amount = parse_money(value("amount"), allow_negative=False)
        except MoneyError:
            raise RowError(N_("amount %(value)r is not an amount of money"), value=value("amount")) from None
    return account, service, day, quantity, amount, value("comment")
