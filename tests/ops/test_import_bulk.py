"""The bulk import path (checks in memory, writes in batches) against the
row-by-row path through the screens' domain functions: on the same file
and the same database they leave the same rows in every table the import
writes (ids and timestamps aside; passwords compared decrypted) and the
same report of errors and duplicates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import peewee
import pytest

from lanbill.db import database
from lanbill.models import (
    Account,
    AccountIp,
    AccountStateChange,
    Agreement,
    AuditLog,
    Counter,
    LedgerEntry,
    Subscriber,
    SubscriberGroup,
    TariffChange,
)
from lanbill.models.search import SubscriberSearch
from lanbill.operations.imports import import_subscribers, read_table
from tests.factories import ACTOR, make_account, make_agent, make_agreement, make_tariff

MAPPING = {"columns": {
    "account.login": "login", "account.password": "password", "subscriber.name": "name",
    "subscriber.kind": "kind", "subscriber.email": "email", "subscriber.inn": "inn", "subscriber.kpp": "kpp",
    "agreement.number": "contract", "agreement.date": "date", "account.ips": "ip", "account.mac": "mac",
    "account.tariff": "tariff", "opening_balance": "balance"}}
HEADER = "login;password;name;kind;email;inn;kpp;contract;date;ip;mac;tariff;balance\n"
GOOD = HEADER + (
    "a1;pw-1;Иванов Иван;физ;ivan@example.ru;;;K-1;01.02.2020;10.1.0.1;00-1A-2B-3C-4D-01;Базовый;100.50\n"
    "a2;pw-2;ООО Ромашка;юр;;7701234567;770101001;K-2;2021-03-04;10.1.0.2 10.1.1.0/30;;Базовый;-250\n"
    "a3;pw-3;ignored;;;;;K-2;;10.1.0.3;;Базовый;\n"
    "a4;pw-4;Без номера;;;;;;;10.1.0.4;;Базовый;0\n"
    ";;Только договор;;;;;K-5;;;;;5\n"
    "old;pw;Уже есть;;;;;EXIST-1;;;;Базовый;1\n"
    "a7;pw-7;Петров Пётр;;;;;;;;;Базовый;-10\n"
)
BAD = HEADER + (
    "b1;pw-1;Один;;;;;B-1;;10.2.0.1;;Базовый;\n"
    "b1;pw-2;Логин повторно;;;;;B-2;;10.2.0.2;;Базовый;\n"
    "b3;pw-3;Адрес повторно;;;;;B-3;;10.2.0.1;;Базовый;\n"
    "b4;pw-4;Почта;;not-an-email;;;B-4;;;;Базовый;\n"
    "b5;pw-5;ООО Ошибка;юр;;123;;B-5;;;;Базовый;\n"
    "b6;;Без пароля;;;;;B-6;;;;Базовый;\n"
    "b7;pw-7;Плохой MAC;;;;;B-7;;;zz:zz;Базовый;\n"
    "taken;pw-8;Логин занят;;;;;B-8;;;;Базовый;\n"
    "b9;pw-9;Адрес занят;;;;;B-9;;10.99.0.1;;Базовый;\n"
    "b10;pw-10;Дважды остаток;;;;;B-1;;;;Базовый;7\n"
    ";;;;;;;B-11;;;;;\n"
)
TABLES = (Subscriber, SubscriberGroup, Agreement, Account, AccountIp, TariffChange, LedgerEntry,
          AccountStateChange, Counter, SubscriberSearch)


@pytest.fixture
def ready(app):
    make_tariff(name="Базовый")
    agent = make_agent(name="bras")
    make_agreement(number="EXIST-1")
    make_account(agent=agent, login="taken", ips=["10.99.0.1"])
    return agent


def _dump() -> dict:
    """Every row of the tables the import writes, ids replaced by their
    rank in their table and references followed, timestamps left out."""
    ranks = {}
    for model in TABLES:
        if isinstance(model._meta.primary_key, peewee.AutoField):
            ids = [r[0] for r in model.select(model._meta.primary_key).tuples()]
            ranks[model] = {i: n for n, i in enumerate(sorted(ids))}
    ranks[SubscriberSearch] = ranks[Subscriber]
    out = {}
    for model in TABLES:
        rows = []
        for row in model.select().dicts():
            clean = {}
            for name, value in row.items():
                field = model._meta.fields[name]
                if isinstance(field, peewee.DateTimeField):
                    continue
                if isinstance(field, peewee.ForeignKeyField) and value is not None:
                    value = ranks.get(field.rel_model, {}).get(value, value)
                elif field is model._meta.primary_key and model in ranks:
                    value = ranks[model][value]
                elif (model, name) == (LedgerEntry, "account_id") and value is not None:
                    value = ranks[Account][value]
                elif (model, name) == (LedgerEntry, "idempotency_key") and value and value.startswith("opening:"):
                    value = f"opening:{ranks[Agreement][int(value.split(':')[1])]}"
                elif (model, name) == (SubscriberSearch, "subscriber_id"):
                    value = ranks[Subscriber][value]
                clean[name] = value
            rows.append(tuple(sorted(clean.items(), key=lambda kv: kv[0])))
        out[model.__name__] = sorted(rows, key=repr)
    return out


def _run(text: str, *, bulk: bool) -> tuple:
    """Import inside a transaction rolled back afterwards: both paths start
    from the same database."""
    progress = []
    with database.atomic() as outer:
        report = import_subscribers(read_table("file.csv", text.encode()), MAPPING, actor=ACTOR, dry_run=False,
                                    source="file.csv", bulk=bulk,
                                    progress=lambda done, total: progress.append((done, total)))
        dump = _dump()
        audits = AuditLog.select().where(AuditLog.action == "import.subscribers").count()
        outer.rollback()
    return report, dump, audits, progress


def test_bulk_and_row_by_row_write_the_same_rows(ready):
    row_report, row_dump, row_audits, _ = _run(GOOD, bulk=False)
    report, dump, audits, progress = _run(GOOD, bulk=True)
    assert row_report.ok and report.ok
    assert report.as_json() == row_report.as_json()
    assert (report.subscribers, report.agreements, report.accounts, report.balances) == (5, 5, 5, 4)
    assert report.duplicates == [7]
    for table in row_dump:
        assert dump[table] == row_dump[table], table
    assert audits == row_audits == 1
    assert progress[-1] == (7, 7) and progress == sorted(progress)

    # what the rows are, written once more for real
    import_subscribers(read_table("file.csv", GOOD.encode()), MAPPING, actor=ACTOR, dry_run=False)
    k2 = Agreement.get(Agreement.number == "K-2")
    assert k2.balance == Decimal("-250.00") and k2.date == dt.date(2021, 3, 4)
    assert k2.subscriber.kind == "legal" and k2.subscriber.inn == "7701234567"
    blocked = Account.select().where(Account.agreement == k2)
    assert sorted(a.login for a in blocked if a.blocked_balance) == ["a2", "a3"]
    a1 = Account.get(Account.login == "a1")
    assert a1.password == "pw-1" and a1.mac == "00:1a:2b:3c:4d:01"
    raw = database.execute_sql("SELECT password FROM account WHERE login = 'a1'").fetchone()[0]
    assert raw and "pw-1" not in raw  # encrypted at rest
    assert sorted(ip.network for ip in AccountIp.select().where(AccountIp.account == Account.get(
        Account.login == "a2"))) == ["10.1.0.2/32", "10.1.1.0/30"]
    auto = Agreement.get(Agreement.id == Account.get(Account.login == "a4").agreement_id)
    assert auto.number and auto.number not in ("K-1", "K-2", "K-5")
    entry = LedgerEntry.get(LedgerEntry.agreement == k2)
    assert entry.kind == "opening_balance" and entry.idempotency_key == f"opening:{k2.id}"
    assert SubscriberSearch.select().where(SubscriberSearch.logins.contains("a3")).count() == 1


def test_bulk_reports_the_same_errors_as_row_by_row(ready):
    row_report, row_dump, _, _ = _run(BAD, bulk=False)
    report, dump, _, progress = _run(BAD, bulk=True)
    assert not report.ok and not report.saved
    assert report.errors and [p.as_json() for p in report.errors] == [p.as_json() for p in row_report.errors]
    assert report.error_count == row_report.error_count == 10
    assert report.duplicates == row_report.duplicates
    assert dump == row_dump  # nothing written by either
    fields = {}
    for problem in report.errors:
        fields.setdefault(problem.line, set()).add(problem.field)
    assert fields == {3: {"account.login"}, 4: {"account.ips"}, 5: {"subscriber.email"}, 6: {"subscriber.inn"},
                      7: {"account.password"}, 8: {"account.mac", "account.password"}, 9: {"account.login"},
                      10: {"account.ips"}, 11: {"opening_balance"}, 12: {"subscriber.name"}}
    assert progress[-1] == (11, 11)


def test_bulk_dry_run_counts_and_writes_nothing(ready):
    before = {m.__name__: m.select().count() for m in TABLES}
    report = import_subscribers(read_table("file.csv", GOOD.encode()), MAPPING, actor=ACTOR, dry_run=True)
    assert report.ok and not report.saved
    assert (report.subscribers, report.agreements, report.accounts, report.balances) == (5, 5, 5, 4)
    assert {m.__name__: m.select().count() for m in TABLES} == before
