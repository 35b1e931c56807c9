"""Import of an ISP moving in (DESIGN §14): the shipped examples (a 1C
counterparty list in XLSX, a Ubilling user export in CSV) import through
`flask import subscribers`; a dry run reports every row's errors and saves
nothing; one bad row imports nothing; a second run reports duplicates;
opening balances are ledger entries of their own kind."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from lanbill.billing.ledger import check_invariant
from lanbill.models import Account, AccountIp, Agreement, AuditLog, LedgerEntry, Subscriber
from lanbill.operations.imports import ImportRefused, import_subscribers, load_mapping, read_table
from tests.factories import ACTOR, make_agent, make_tariff, table_counts

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "import-examples"


@pytest.fixture
def ubilling_ready(app):
    """What the Ubilling example needs: its two tariffs and one agent."""
    make_tariff(name="Домашний 100")
    make_tariff(name="Домашний 200")
    return make_agent(name="bras")


def test_ubilling_example_imports_and_a_second_run_finds_duplicates(app, runner, ubilling_ready):
    args = ["import", "subscribers", str(EXAMPLES / "ubilling-users.csv"),
            "--mapping", str(EXAMPLES / "ubilling-users.mapping.json")]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create 4 subscribers" in dry.output and Subscriber.select().count() == 0

    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "created 4 subscribers, 4 agreements, 4 accounts, 3 opening balances" in result.output
    account = Account.get(Account.login == "ivanov_ii")
    assert account.password == "Xq7pR2mv" and account.mac == "00:1a:2b:3c:4d:01"
    assert account.tariff.name == "Домашний 100" and account.agent_id == ubilling_ready.id
    assert [ip.network for ip in AccountIp.select().where(AccountIp.account == account)] == ["10.20.0.11/32"]
    agreement = Agreement.get(Agreement.number == "UB-1003")
    assert agreement.balance == Decimal("-120.00")
    entry = LedgerEntry.get(LedgerEntry.agreement == agreement)
    assert entry.kind == "opening_balance" and entry.amount == Decimal("-120.00")
    assert check_invariant() == []
    assert AuditLog.select().where(AuditLog.action == "import.subscribers").count() == 1

    before = table_counts()
    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "created 0 subscribers" in again.output and "4 duplicates skipped" in again.output
    counts = table_counts()
    assert {t: n for t, n in counts.items() if t != "audit_log"} == \
           {t: n for t, n in before.items() if t != "audit_log"}


def test_1c_counterparties_xlsx_imports_legal_entities(app, runner):
    result = runner.invoke(args=["import", "subscribers", str(EXAMPLES / "1c-counterparties.xlsx"),
                                 "--mapping", str(EXAMPLES / "1c-counterparties.mapping.json")])
    assert result.exit_code == 0, result.output
    romashka = Subscriber.get(Subscriber.name == "ООО «Ромашка»")
    assert romashka.kind == "legal" and romashka.inn == "7701234567" and romashka.kpp == "770101001"
    agreement = Agreement.get(Agreement.number == "Д-2019/014")
    assert agreement.subscriber_id == romashka.id and agreement.date.isoformat() == "2019-03-01"
    assert agreement.balance == Decimal("1500.50")
    assert Agreement.get(Agreement.number == "Д-2020/101").balance == Decimal("-640.00")
    assert Agreement.get(Agreement.number == "Д-2021/007").balance == 0
    assert Subscriber.get(Subscriber.name == "Фёдорова Мария Ивановна").kind == "individual"
    assert LedgerEntry.select().where(LedgerEntry.kind == "opening_balance").count() == 2


BAD = (
    "login;password;name;contract;ip;tariff;balance\n"
    "good1;pw-111111;Good One;C-1;10.9.0.1;Домашний 100;10\n"
    "bad login;pw-222222;Bad Login;C-2;10.9.0.2;Домашний 100;0\n"
    "good2;pw-333333;;C-3;10.9.0.3;Домашний 100;0\n"
    "good3;pw-444444;Bad Tariff;C-4;10.9.0.4;Nope;0\n"
    "good4;pw-555555;Bad Money;C-5;10.9.0.999;Домашний 100;12,345\n"
)
BAD_MAPPING = {"columns": {"account.login": "login", "account.password": "password", "subscriber.name": "name",
                           "agreement.number": "contract", "account.ips": "ip", "account.tariff": "tariff",
                           "opening_balance": "balance"}}


def test_every_bad_row_is_reported_and_nothing_is_saved(app, ubilling_ready):
    table = read_table("bad.csv", BAD.encode("cp1251"))
    assert [line for line, _ in table.rows] == [2, 3, 4, 5, 6]
    before = table_counts()
    seen = []
    report = import_subscribers(table, BAD_MAPPING, actor=ACTOR, dry_run=False,
                                progress=lambda done, total: seen.append((done, total)))
    assert not report.ok and not report.saved
    by_line = {}
    for problem in report.errors:
        by_line.setdefault(problem.line, []).append(problem)
    assert sorted(by_line) == [3, 4, 5, 6] and report.error_count == 4
    assert [p.field for p in by_line[3]] == ["account.login"]
    assert [p.field for p in by_line[4]] == ["subscriber.name"]
    assert [(p.field, p.params) for p in by_line[5]] == [("account.tariff", {"value": "Nope"})]
    assert sorted(p.field for p in by_line[6]) == ["account.ips", "opening_balance"]
    assert table_counts() == before
    assert seen[-1] == (5, 5)


def test_refusals_of_the_whole_file(app):
    table = read_table("x.csv", b"a,b\n1,2\n")
    with pytest.raises(ImportRefused, match="No column"):
        import_subscribers(table, {"columns": {"subscriber.name": "name"}}, actor=ACTOR)
    with pytest.raises(ImportRefused, match="agreement number or the account login"):
        import_subscribers(table, {"columns": {"subscriber.name": "a"}}, actor=ACTOR)
    with pytest.raises(ImportRefused, match="Unknown fields"):
        load_mapping(json.dumps({"columns": {"subscriber.passport": "a"}}))
    with pytest.raises(ImportRefused, match="header"):
        read_table("empty.csv", b"\n\n")
    with pytest.raises(ImportRefused, match="XLSX"):
        read_table("broken.xlsx", b"PK\x03\x04broken")


def test_rows_with_one_agreement_number_add_accounts_to_it(app, ubilling_ready):
    text = ("login,name,contract,tariff,balance\n"
            "flat1,Семья Орловых,F-1,Домашний 100,300\n"
            "flat1-tv,,F-1,Домашний 200,\n"
            "flat1-x,,F-1,Домашний 200,5\n")
    mapping = {"columns": {"account.login": "login", "subscriber.name": "name", "agreement.number": "contract",
                           "account.tariff": "tariff", "opening_balance": "balance"},
               "defaults": {"account.password": "pw-123456"}}
    report = import_subscribers(read_table("f.csv", text.encode()), mapping, actor=ACTOR, dry_run=True)
    assert [(p.line, p.field) for p in report.errors] == [(4, "opening_balance")]
    text = text.rsplit("flat1-x", 1)[0]
    report = import_subscribers(read_table("f.csv", text.encode()), mapping, actor=ACTOR, dry_run=False)
    assert report.saved and (report.subscribers, report.agreements, report.accounts) == (1, 1, 2)
    agreement = Agreement.get(Agreement.number == "F-1")
    assert Account.select().where(Account.agreement == agreement).count() == 2
    assert agreement.balance == Decimal("300.00")
