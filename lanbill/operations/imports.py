"""Import of an ISP moving in from another billing (DESIGN §14): subscribers,
agreements, accounts and opening balances from a CSV or XLSX file with a
column mapping; a dry run reports every row's errors; all rows or none.

Rules (DESIGN is silent on these; written down here):
- a row is one subscriber with one agreement and at most one account;
  later rows with an agreement number already seen in the same file add
  further accounts to that agreement (their subscriber columns are ignored);
- a row whose agreement number already exists (or, with no agreement
  number mapped, whose login already exists in the agent) is a duplicate:
  reported and skipped, so re-running the same file creates nothing;
- the opening balance is a ledger entry of its own kind, `opening_balance`,
  once per agreement (its idempotency key); negative is a debt;
- every row goes through the same domain functions as the screens
  (create_subscriber, create_agreement, create_account, post_entry), each
  in a savepoint, so one bad row never hides the next one's errors; any
  error, or a dry run, rolls the whole file back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl

from lanbill.billing.currency import default_currency
from lanbill.billing.ledger import post_entry
from lanbill.billing.services import csv_delimiter
from lanbill.customers import bulk, search_index
from lanbill.customers.accounts import SERVICE_PASSWORD_REQUIRED, create_account, login_error, parse_networks
from lanbill.customers.agreements import create_agreement
from lanbill.customers.bulk import account_fields, agreement_number, subscriber_fields
from lanbill.customers.operators import default_operator
from lanbill.customers.subscribers import create_subscriber
from lanbill.db import database, transaction
from lanbill.errors import N_, BillingError, Conflict, ValidationError
from lanbill.models import Account, Agent, Agreement, Tariff
from lanbill.money import MoneyError, parse_money
from lanbill.network.radius_access import needs_service_password
from lanbill.staff import audit

OPENING_BALANCE = "opening_balance"
# Our fields a column may be mapped to, in the order the screen shows them.
FIELDS = (
    "subscriber.name", "subscriber.kind", "subscriber.email", "subscriber.phone", "subscriber.inn",
    "subscriber.kpp", "subscriber.description",
    "agreement.number", "agreement.date",
    "account.login", "account.password", "account.ips", "account.mac", "account.tariff", "account.agent",
    "opening_balance",
)
KIND_VALUES = {
    "individual": "individual", "физ": "individual", "фл": "individual", "физлицо": "individual",
    "физическое лицо": "individual", "0": "individual",
    "legal": "legal", "юр": "legal", "юл": "legal", "юрлицо": "legal", "юридическое лицо": "legal",
    "ип": "legal", "индивидуальный предприниматель": "legal", "1": "legal",
}
MAX_ERRORS_KEPT = 10000  # per report; a file with more shows the first ones and the count
PROGRESS_EVERY = 200


class ImportRefused(ValidationError):
    """The file or the mapping cannot be imported at all (not a row's fault)."""


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, dict]]  # (line or sheet row number, {header: text})


@dataclass
class RowProblem:
    line: int
    message: str  # msgid
    params: dict = field(default_factory=dict)
    field: str = ""  # our field name, when one is to blame

    def as_json(self) -> list:
        return [self.line, self.message, self.params, self.field]


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    subscribers: int = 0
    agreements: int = 0
    accounts: int = 0
    balances: int = 0
    duplicates: list[int] = field(default_factory=list)  # lines
    errors: list[RowProblem] = field(default_factory=list)
    error_count: int = 0  # rows with errors
    rows_kept: int = 0  # of them, rows whose problems `errors` holds (MAX_ERRORS_KEPT)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def saved(self) -> bool:
        return self.ok and not self.dry_run

    def as_json(self) -> dict:
        return {"dry_run": self.dry_run, "rows": self.rows, "subscribers": self.subscribers,
                "agreements": self.agreements, "accounts": self.accounts, "balances": self.balances,
                "duplicates": self.duplicates, "error_count": self.error_count, "rows_kept": self.rows_kept,
                "errors": [p.as_json() for p in self.errors]}


# --- reading the file ---------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1251 — what 1C and Excel in
    Russian save."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        # a spreadsheet keeps 1234.5 as a float; its shortest repr is what was typed
        return str(Decimal(repr(value))) if value != int(value) else str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def read_table(filename: str, data: bytes) -> Table:
    """The header row and the rows of a CSV (`;`, `,` or tab separated;
    UTF-8 or Windows-1251) or XLSX file (its first sheet)."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 — openpyxl raises many kinds for a broken file
            raise ImportRefused(N_("The file is not a readable XLSX workbook.")) from None
        sheet = book.worksheets[0]
        lines = ((n, [_cell(v) for v in values]) for n, values in
                 enumerate(sheet.iter_rows(values_only=True), start=1))
    else:
        text = _decode(data)
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > max(first.count(";"), first.count(",")) else csv_delimiter(text)
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        lines = ((reader.line_num, [c.strip() for c in values]) for values in reader)
    headers: list[str] = []
    rows: list[tuple[int, dict]] = []
    for number, values in lines:
        if not headers:
            if any(values):
                headers = [v or f"#{i + 1}" for i, v in enumerate(values)]
            continue
        if not any(values):
            continue
        rows.append((number, {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers)}))
    if not headers:
        raise ImportRefused(N_("The file has no header row."))
    return Table(headers, rows)


# --- the mapping ---------------------------------------------------------------------------


def load_mapping(data: str | bytes | dict) -> dict:
    """A mapping: {"columns": {our field: file column}, "defaults": {our
    field: value for every row}, "values": {our field: {file value: ours}}}.
    Unknown fields are refused."""
    if not isinstance(data, dict):
        try:
            data = json.loads(data)
        except ValueError:
            raise ImportRefused(N_("The column mapping is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ImportRefused(N_("The column mapping is not valid JSON."))
    mapping = {"columns": {k: v for k, v in (data.get("columns") or {}).items() if v},
               "defaults": {k: str(v) for k, v in (data.get("defaults") or {}).items() if v not in (None, "")},
               "values": data.get("values") or {}, "name": data.get("name", "")}
    unknown = (set(mapping["columns"]) | set(mapping["defaults"])) - set(FIELDS)
    if unknown:
        raise ImportRefused(N_("Unknown fields in the column mapping: %(names)s."), names=", ".join(sorted(unknown)))
    return mapping


def _check_mapping(mapping: dict, table: Table) -> None:
    columns = mapping["columns"]
    missing = [column for column in columns.values() if column not in table.headers]
    if missing:
        raise ImportRefused(N_("No column %(names)s in the file."), names=", ".join(missing))
    if "subscriber.name" not in columns:
        raise ImportRefused(N_("Map a column to the subscriber's name."))
    if "agreement.number" not in columns and "account.login" not in columns:
        raise ImportRefused(N_("Map the agreement number or the account login: a second run of the same "
                               "file recognises its rows by them."))


# --- the import ------------------------------------------------------------------------------


class _RowError(Exception):
    def __init__(self, message, field_name="", **params):
        super().__init__(message)
        self.message, self.field, self.params = message, field_name, params


class _RowErrors(Exception):
    def __init__(self, problems: list[_RowError]):
        super().__init__(problems[0].message)
        self.problems = problems


class _Lookups:
    """Tariffs and agents by name (case-insensitive) or id, read once."""

    def __init__(self):
        self.tariffs = {}
        for tariff in Tariff.select().where(Tariff.archived == False):  # noqa: E712
            self.tariffs[tariff.name.strip().lower()] = tariff
            self.tariffs[str(tariff.id)] = tariff
        self.agents = {}
        agents = list(Agent.select())
        for agent in agents:
            self.agents[agent.name.strip().lower()] = agent
            self.agents[str(agent.id)] = agent
        enabled = [a for a in agents if a.enabled]
        self.only_agent = enabled[0] if len(enabled) == 1 else None


def _date(text: str, field_name: str) -> dt.date | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _RowError(N_("%(value)s is not a date (YYYY-MM-DD or DD.MM.YYYY)."), field_name, value=text)


def import_subscribers(table: Table, mapping: dict, *, actor, dry_run: bool = True, source: str = "",
                       progress=None, bulk: bool = True) -> ImportReport:
    """Import `table` with `mapping` (load_mapping); see the module's rules.
    `progress(done, total)` is called every PROGRESS_EVERY rows (the bulk
    path: the checks fill the first half of the bar, the writing, chunk by
    chunk, the second) and at the end.

    `bulk` (the default) checks every row in memory and writes in batches
    (customers.bulk); `bulk=False` runs every row through the screens'
    domain functions, one savepoint each — the reference the bulk path is
    tested against, same rows and same report."""
    mapping = load_mapping(mapping)
    _check_mapping(mapping, table)
    report = ImportReport(dry_run=dry_run, rows=len(table.rows))
    lookups = _Lookups()
    operator = default_operator()
    seen: dict[str, Agreement] = {}  # agreement numbers of this file → agreement
    total = len(table.rows)

    def value(row: dict, name: str) -> str:
        column = mapping["columns"].get(name)
        text = (row.get(column) or "").strip() if column else ""
        text = text or mapping["defaults"].get(name, "")
        translated = (mapping["values"].get(name) or {}).get(text)
        return translated if translated is not None else text

    class _Rollback(Exception):
        pass

    try:
        with transaction():
            if bulk:
                _import_bulk(table, value, report, lookups, operator, actor, source, progress, dry_run)
            else:
                for done, (line, row) in enumerate(table.rows, start=1):
                    try:
                        with database.atomic():
                            _import_row(line, row, value, report, lookups, operator, seen, actor, source)
                    except (_RowErrors, _RowError, BillingError) as exc:
                        _problem(report, _problems_of(line, exc))
                    if progress and (done % PROGRESS_EVERY == 0 or done == total):
                        progress(done, total)
            if report.ok and not dry_run:
                audit.record(actor, "import.subscribers", "import", source or "file", after={
                    "rows": report.rows, "subscribers": report.subscribers, "agreements": report.agreements,
                    "accounts": report.accounts, "balances": report.balances,
                    "duplicates": len(report.duplicates)})
            else:
                raise _Rollback
    except _Rollback:
        pass
    if progress and not total:
        progress(0, 0)
    if report.saved and report.subscribers:
        search_index.refresh()
    return report


def _problems_of(line: int, exc: Exception) -> list[RowProblem]:
    """A row's failure as the report's problems (one per field to blame)."""
    if isinstance(exc, _RowErrors):
        return [RowProblem(line, p.message, p.params, p.field) for p in exc.problems]
    if isinstance(exc, _RowError):
        return [RowProblem(line, exc.message, exc.params, exc.field)]
    if exc.params or not exc.fields:
        name = next(iter(exc.fields), "")
        return [RowProblem(line, exc.message, exc.params, _our_field(name))]
    return [RowProblem(line, message, {}, _our_field(name)) for name, message in exc.fields.items()]


def _import_bulk(table, value, report, lookups, operator, actor, source, progress, dry_run) -> None:
    """The bulk path: every row checked first, in memory, against the same
    rules the domain functions enforce (their own pure checks, reused) and
    the database's uniqueness rules read with a few set-based queries;
    then, when no row failed and this is no dry run, everything written in
    chunks by customers.bulk.create_many inside the caller's transaction.
    Rows are taken in file order exactly as the row-by-row path takes them:
    a login or address given on an earlier row is taken for later rows, an
    agreement number seen earlier adds the later row's account to it."""
    total = len(table.rows)
    values = [(line, {name: value(row, name) for name in FIELDS}) for line, row in table.rows]
    # the database's side of the uniqueness rules, read once
    numbers = {v["agreement.number"] for _, v in values if v["agreement.number"]}
    existing_numbers = bulk.taken_numbers(operator.id, numbers)
    pairs, networks = set(), set()
    parsed = _NetworksOnce()
    for _, v in values:
        login = v["account.login"]
        if not login:
            continue
        text = v["account.agent"].strip().lower()
        for agent in (lookups.agents.get(text) if text else None, lookups.only_agent):
            if agent is not None:
                pairs.add((agent.id, login))
        try:
            networks.update(parsed(v["account.ips"]))
        except BillingError:
            pass
    existing_logins = bulk.taken_logins(pairs)
    existing_networks = bulk.taken_networks(networks)
    logins_taken = set(existing_logins)
    # each row's addresses are parsed once: here, in its checks and for its account
    networks_taken = set(existing_networks)

    plan: list[dict] = []
    seen: dict[str, object] = {}
    comment = f"opening balance ({source})" if source else "opening balance"
    counts = {"subscribers": 0, "agreements": 0, "accounts": 0, "balances": 0}
    for done, (line, v) in enumerate(values, start=1):
        try:
            _plan_row(line, v, lookups, seen, existing_numbers, logins_taken, networks_taken, plan, counts,
                      report, comment, parsed)
        except (_RowErrors, _RowError, BillingError) as exc:
            _problem(report, _problems_of(line, exc))
        if progress and done % PROGRESS_EVERY == 0:
            progress(done // 2, total)
    if not report.ok or dry_run:
        report.subscribers, report.agreements = counts["subscribers"], counts["agreements"]
        report.accounts, report.balances = counts["accounts"], counts["balances"]
        if progress and total:
            progress(total, total)
        return

    def written(done_items, total_items):
        if progress:
            progress(total // 2 + (total - total // 2) * done_items // max(total_items, 1), total)

    created = bulk.create_many(plan, actor=actor, operator=operator, currency=default_currency(), progress=written)
    report.subscribers, report.agreements = created["subscribers"], created["agreements"]
    report.accounts, report.balances = created["accounts"], created["balances"]
    if progress and total:
        progress(total, total)


class _NetworksOnce:
    """parse_networks of a cell's text, remembered (or its error)."""

    def __init__(self):
        self.found: dict[str, object] = {}

    def __call__(self, text: str) -> list[str]:
        found = self.found.get(text)
        if found is None:
            try:
                found = parse_networks(text or None)
            except BillingError as exc:
                found = exc
            self.found[text] = found
        if isinstance(found, BillingError):
            raise found
        return found


def _plan_row(line, v, lookups, seen, existing_numbers, logins_taken, networks_taken, plan, counts, report,
              comment, parsed) -> None:
    """Check one row as `_import_row` would create it; add what it creates
    to `plan` (or raise the row's problems)."""
    number = v["agreement.number"]
    login = v["account.login"]
    key = seen.get(number) if number else None
    if key is None:
        if number and number in existing_numbers:
            report.duplicates.append(line)
            return
        agent = lookups.agents.get(v["account.agent"].strip().lower()) or lookups.only_agent
        if not number and login and agent is not None and (agent.id, login) in logins_taken:
            report.duplicates.append(line)
            return
    problems = _precheck(v, lambda values, name: values[name], lookups, login, parsed)
    if key is not None and v["opening_balance"]:
        problems.append(_RowError(N_("The opening balance of agreement %(number)s is already given on an "
                                     "earlier row."), "opening_balance", number=number))
    if problems:
        raise _RowErrors(problems)
    head = None
    if key is None:
        kind = KIND_VALUES[v["subscriber.kind"].strip().lower() or "individual"]
        data = {"kind": kind, "name": v["subscriber.name"]}
        for name in ("email", "phone", "description"):
            if v[f"subscriber.{name}"]:
                data[name] = v[f"subscriber.{name}"]
        if kind == "legal":
            for name in ("inn", "kpp"):
                if v[f"subscriber.{name}"]:
                    data[name] = v[f"subscriber.{name}"]
        # create_subscriber's checks
        if not data["name"].strip():
            raise ValidationError(N_("Check the highlighted fields."), fields={"name": N_("Required.")})
        fields = subscriber_fields(data, kind)
        # create_agreement's
        clean_number = agreement_number(number) if number else None
        key = ("number", clean_number) if number else ("line", line)
        amount = _money(v["opening_balance"])
        head = {"subscriber": {"kind": kind, "category": "subscriber", **fields},
                "agreement": {"key": key, "number": clean_number,
                              "date": _date(v["agreement.date"], "agreement.date")},
                "opening": amount or None, "comment": comment}
        if number:
            seen[number] = key
    account = None
    if login:
        agent = _agent(v["account.agent"], lookups)
        tariff = lookups.tariffs[v["account.tariff"].strip().lower()]
        # create_account's checks, in its order
        errors = {}
        fields = {}
        try:
            fields = account_fields({"password": v["account.password"], "mac": v["account.mac"]})
        except ValidationError as exc:
            errors.update(exc.fields)
        if "password" not in errors and not fields.get("password") and needs_service_password(agent.type):
            errors["password"] = SERVICE_PASSWORD_REQUIRED
        if errors:
            raise ValidationError(N_("Check the highlighted fields."), fields=errors)
        networks = parsed(v["account.ips"])
        if (agent.id, login) in logins_taken:
            raise Conflict(N_("This login is already used by another account of this agent."),
                           fields={"login": N_("Already used within this agent.")})
        taken = [n for n in networks if n in networks_taken]
        if taken:
            raise Conflict(N_("IP %(ip)s already belongs to another account."),
                           fields={"ips": N_("Already used.")}, ip=taken[0])
        account = {"account": {"agreement": key, "agent": agent.id, "tariff": tariff.id, "login": login,
                               "password": fields["password"], "mac": fields["mac"], "networks": networks}}
        logins_taken.add((agent.id, login))
        networks_taken.update(networks)
    if head is not None:
        plan.append(head)
        counts["subscribers"] += 1
        counts["agreements"] += 1
        counts["balances"] += 1 if head["opening"] else 0
    if account is not None:
        plan.append(account)
        counts["accounts"] += 1


def _problem(report: ImportReport, problems: list[RowProblem]) -> None:
    """Count the row once; keep its problems while the report has room."""
    report.error_count += 1
    if len(report.errors) < MAX_ERRORS_KEPT:
        report.errors.extend(problems)
        report.rows_kept += 1


# field names the domain functions blame → ours
_FIELD_NAMES = {"name": "subscriber.name", "kind": "subscriber.kind", "email": "subscriber.email",
                "phone": "subscriber.phone", "inn": "subscriber.inn", "kpp": "subscriber.kpp",
                "number": "agreement.number", "login": "account.login", "password": "account.password",
                "ips": "account.ips", "mac": "account.mac", "tariff_id": "account.tariff",
                "agent_id": "account.agent"}


def _our_field(name: str) -> str:
    return _FIELD_NAMES.get(name, name)


def _precheck(row, value, lookups, login, networks=None) -> list[_RowError]:
    """What can be told of a row before anything is created, all at once:
    kind, date, opening balance, tariff, agent, login and addresses."""
    problems = []
    kind_text = value(row, "subscriber.kind").strip().lower()
    if kind_text and kind_text not in KIND_VALUES:
        problems.append(_RowError(N_("%(value)s is not a kind of subscriber (individual or legal)."),
                                  "subscriber.kind", value=kind_text))
    if not value(row, "subscriber.name") and not value(row, "agreement.number"):
        problems.append(_RowError(N_("Required."), "subscriber.name"))
    for check in (lambda: _date(value(row, "agreement.date"), "agreement.date"),
                  lambda: _money(value(row, "opening_balance"))):
        try:
            check()
        except _RowError as exc:
            problems.append(exc)
    if login:
        message = login_error(login)
        if message:
            problems.append(_RowError(message, "account.login"))
        tariff_text = value(row, "account.tariff")
        if lookups.tariffs.get(tariff_text.strip().lower()) is None:
            problems.append(_RowError(N_("There is no current tariff %(value)s.") if tariff_text
                                      else N_("The tariff is empty."), "account.tariff", value=tariff_text))
        try:
            _agent(value(row, "account.agent"), lookups)
        except _RowError as exc:
            problems.append(exc)
        try:
            (networks or (lambda text: parse_networks(text or None)))(value(row, "account.ips"))
        except BillingError as exc:
            problems.append(_RowError(exc.message, "account.ips", **exc.params))
    return problems


def _import_row(line, row, value, report, lookups, operator, seen, actor, source) -> None:
    number = value(row, "agreement.number")
    login = value(row, "account.login")
    agreement = seen.get(number) if number else None
    if agreement is None:
        if number and Agreement.select().where((Agreement.operator == operator.id)
                                               & (Agreement.number == number)).exists():
            report.duplicates.append(line)
            return
        agent = lookups.agents.get(value(row, "account.agent").strip().lower()) or lookups.only_agent
        if not number and login and agent is not None and Account.select().where(
                (Account.agent == agent.id) & (Account.login == login)
                & (Account.deleted == False)).exists():  # noqa: E712
            report.duplicates.append(line)
            return
    problems = _precheck(row, value, lookups, login)
    if agreement is not None and value(row, "opening_balance"):
        problems.append(_RowError(N_("The opening balance of agreement %(number)s is already given on an "
                                     "earlier row."), "opening_balance", number=number))
    if problems:
        raise _RowErrors(problems)
    if agreement is None:
        kind = KIND_VALUES[value(row, "subscriber.kind").strip().lower() or "individual"]
        data = {"kind": kind, "name": value(row, "subscriber.name")}
        for name in ("email", "phone", "description"):
            if value(row, f"subscriber.{name}"):
                data[name] = value(row, f"subscriber.{name}")
        if kind == "legal":
            for name in ("inn", "kpp"):
                if value(row, f"subscriber.{name}"):
                    data[name] = value(row, f"subscriber.{name}")
        subscriber = create_subscriber(data, actor=actor)
        report.subscribers += 1
        agreement = create_agreement(subscriber, actor=actor, number=number or None, operator=operator,
                                     date=_date(value(row, "agreement.date"), "agreement.date"))
        report.agreements += 1
        if number:
            seen[number] = agreement
        amount = _money(value(row, "opening_balance"))
        if amount:
            post_entry(agreement, amount, OPENING_BALANCE, actor=actor, idempotency_key=f"opening:{agreement.id}",
                       comment=f"opening balance ({source})" if source else "opening balance")
            report.balances += 1
    if login:
        agent = _agent(value(row, "account.agent"), lookups)
        tariff = lookups.tariffs[value(row, "account.tariff").strip().lower()]
        # the objects themselves, not their ids: create_account takes either and
        # need not read them again for every row
        create_account({"agreement_id": agreement, "agent_id": agent, "tariff_id": tariff,
                        "login": login, "password": value(row, "account.password"),
                        "ips": value(row, "account.ips") or None, "mac": value(row, "account.mac")},
                       actor=actor)
        report.accounts += 1


def _agent(text: str, lookups: _Lookups) -> Agent:
    agent = lookups.agents.get(text.strip().lower()) if text else lookups.only_agent
    if agent is None:
        if text:
            raise _RowError(N_("There is no agent %(value)s."), "account.agent", value=text)
        raise _RowError(N_("Choose the agent of the accounts: there is more than one, or none."), "account.agent")
    return agent


def _money(text: str):
    if not text:
        return None
    try:
        return parse_money(text, allow_negative=True)
    except MoneyError as exc:
        raise _RowError(exc.message, "opening_balance") from None


# --- runs: the file, the mapping and the progress kept on disk ----------------------------------


def runs_folder(instance: Path | str) -> Path:
    return Path(instance) / "imports"


def write_state(folder: Path, **values) -> dict:
    """Merge `values` into the run's state.json (written atomically: the
    progress page may read it at any moment)."""
    path = folder / "state.json"
    state = json.loads(path.read_text()) if path.exists() else {}
    state.update(values)
    temporary = folder / "state.json.tmp"
    temporary.write_text(json.dumps(state, ensure_ascii=False, default=str))
    temporary.replace(path)
    return state


def read_state(folder: Path) -> dict:
    return json.loads((folder / "state.json").read_text())


def run_stored(folder: Path, *, actor) -> dict:
    """Run the import kept in `folder` (source file, mapping.json,
    state.json with "dry_run" and "filename"), writing progress and the
    report into state.json.  What the worker's task and the CLI call."""
    state = read_state(folder)
    write_state(folder, status="running")
    try:
        table = read_table(state["filename"], (folder / "source").read_bytes())
        mapping = json.loads((folder / "mapping.json").read_text())
        write_state(folder, total=len(table.rows), done=0)
        report = import_subscribers(table, mapping, actor=actor, dry_run=state["dry_run"],
                                    source=state["filename"],
                                    progress=lambda done, total: write_state(folder, done=done, total=total))
    except BillingError as exc:
        return write_state(folder, status="refused", refusal=[exc.message, exc.params])
    if report.saved:
        # the file holds personal data and service passwords: once imported it is not kept
        (folder / "source").unlink(missing_ok=True)
    return write_state(folder, status="done", report=report.as_json())


PRESETS_FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "import-examples"


def presets() -> dict[str, dict]:
    """The shipped mappings (deploy/import-examples/*.mapping.json) by file stem."""
    out = {}
    for path in sorted(PRESETS_FOLDER.glob("*.mapping.json")):
        out[path.name[: -len(".mapping.json")]] = load_mapping(path.read_text(encoding="utf-8"))
    return out
