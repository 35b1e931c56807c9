"""Demo data (`flask demo`): a realistic ISP whose bulk-written rows keep
every invariant the domain functions keep."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections import Counter as Tally

import peewee
import pytest
import time_machine

from lanbill.billing.blocks import available_funds
from lanbill.billing.ledger import check_invariant, idempotency_key
from lanbill.customers.accounts import login_error
from lanbill.customers.subscribers import name_skeleton
from lanbill.db import database
from lanbill.demo import BULK_MODELS, generate
from lanbill.models import (
    Account,
    AccountIp,
    AccountStateChange,
    Agent,
    Agreement,
    Building,
    Counter,
    Group,
    LedgerEntry,
    Nas,
    Payment,
    Subscriber,
    SubscriberGroup,
    Tariff,
    TariffChange,
)
from tests.conftest import USE_PG, _reset_pg

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
FIO = re.compile(r"^[А-ЯЁ][а-яё]+(-[А-ЯЁ][а-яё]+)? [А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+(ич|на)$")


def _inn10_ok(inn: str) -> bool:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return int(inn[9]) == sum(int(d) * w for d, w in zip(inn, weights, strict=False)) % 11 % 10


@pytest.fixture
def demo(app):
    with time_machine.travel(NOW, tick=False):
        result = generate(80, seed=7)
    return result


def test_demo_command_fills_the_database_and_check_passes(app, runner):
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(args=["demo", "--subscribers", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "demo: 40 subscribers" in result.output
    assert Subscriber.select().count() == 40
    # the search index is built by the command, not by the first search
    from lanbill.models.search import SubscriberSearch

    assert "search index: 40 subscribers" in result.output
    assert SubscriberSearch.select().count() == 40
    check = runner.invoke(args=["check"])
    assert check.exit_code == 0, check.output


def test_demo_is_a_realistic_isp(demo):
    assert demo.subscribers == 80 and demo.accounts >= 80 and demo.payments > 80 * 6
    kinds = Tally(kind for (kind,) in Subscriber.select(Subscriber.kind).tuples())
    assert kinds["individual"] > kinds["legal"] > 0
    for person in Subscriber.select().where(Subscriber.kind == "individual"):
        assert FIO.match(person.name), person.name
        assert person.main_address_id and person.passport_number.isdigit() and person.phone.startswith("+79")
    for company in Subscriber.select().where(Subscriber.kind == "legal"):
        assert company.bank_name and len(company.bik) == 9 and len(company.settlement_account) == 20
        if company.legal_category != "ИП":
            assert company.name.endswith("»") and len(company.inn) == 10 and _inn10_ok(company.inn)
            assert len(company.kpp) == 9 and company.kpp[:4] == company.inn[:4] and len(company.ogrn) == 13
    assert Tariff.select().count() >= 5
    assert {a.type for a in Agent.select()} == {"radius", "netflow"}
    assert {a.agent.type for a in Account.select()} == {"radius", "netflow"}
    assert Nas.select().count() >= 2
    address = Subscriber.select().first().main_address
    assert re.search(r"^\d{6}, .+ область, .+, .+, \S+", str(address)), str(address)
    assert Building.select().count() > 0


def test_demo_covers_a_year_of_payments_and_rent(demo):
    first_paid = Payment.select(peewee.fn.MIN(Payment.paid_at)).scalar()
    assert first_paid.date() <= (NOW - dt.timedelta(days=330)).date()
    assert {p.method for p in Payment.select()} == {"cash", "card", "gateway", "bank"}
    for payment in Payment.select():
        entry = payment.entry
        assert entry.kind == "payment" and entry.amount == payment.amount and entry.payment_id == payment.id
        assert entry.agreement_id == payment.agreement_id and payment.document_number
    rents = LedgerEntry.select().where(LedgerEntry.kind == "rent")
    assert rents.count() > 80 * 10
    for entry in rents.limit(200):
        month_start = entry.period_start.replace(day=1)
        month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        assert entry.amount < 0 and entry.period_end <= month_end
        assert entry.idempotency_key == idempotency_key(entry.agreement_id, entry.account_id,
                                                        f"adv:t{entry.tariff_id}", None, entry.period_start,
                                                        month_end)


def test_rent_run_after_the_demo_does_not_charge_the_current_month_again(demo):
    from lanbill.billing.run import run_due

    last_id = LedgerEntry.select(peewee.fn.MAX(LedgerEntry.id)).scalar()
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        run_due()
    new = LedgerEntry.select().where(LedgerEntry.id > last_id)
    # the demo's advances carry the engine's keys: no second advance for this month
    assert not new.where(LedgerEntry.kind == "rent").exists()
    assert check_invariant() == []


def test_demo_keeps_the_invariants(demo):
    assert check_invariant() == []
    system = Group.get(Group.is_system == True)  # noqa: E712
    assert SubscriberGroup.select().where(SubscriberGroup.group == system).count() == Subscriber.select().count()
    for subscriber in Subscriber.select():
        assert subscriber.name_skeleton == name_skeleton(subscriber.name)
    live = list(Account.select().where(Account.deleted == False))  # noqa: E712
    pairs = [(a.agent_id, a.login) for a in live]
    assert len(pairs) == len(set(pairs))
    assert all(login_error(login) is None for _, login in pairs)
    networks = [ipaddress.ip_network(n) for (n,) in AccountIp.select(AccountIp.network).tuples()]
    assert len(networks) == Account.select().count()
    ordered = sorted(networks, key=lambda n: int(n.network_address))
    assert all(not a.overlaps(b) for a, b in zip(ordered, ordered[1:], strict=False))
    assert TariffChange.select().count() == Account.select().count()
    agreements = {a.id: a for a in Agreement.select()}
    for account in live:
        assert account.blocked_balance == (available_funds(agreements[account.agreement_id]) < 0)
        assert account.state == account.compute_state()
        for flag, field in (("balance", "blocked_balance"), ("admin", "blocked_admin"), ("user", "blocked_user"),
                            ("off", "is_off")):
            if getattr(account, field):
                assert AccountStateChange.select().where(
                    (AccountStateChange.account == account.id) & (AccountStateChange.flag == flag)).exists()
    numbers = [a.number for a in agreements.values()]
    assert len(numbers) == len(set(numbers)) and all(re.match(r"^\d{4}-\d{6}$", n) for n in numbers)
    assert Counter.get(Counter.name == "agreement:1").value >= len(numbers)


def test_demo_rows_get_ids_the_database_continues_from(demo):
    """After explicit ids (PostgreSQL sequences moved past them) the ORM
    can still create rows."""
    from tests.factories import make_account

    account = make_account()
    assert account.id > max(a.id for a in Account.select().where(Account.id != account.id))
    assert check_invariant() == []


def test_second_run_adds_without_clashes_and_indexes_survive(app):
    indexes = {m: {i.name for i in database.get_indexes(m._meta.table_name)} for m in BULK_MODELS}
    with time_machine.travel(NOW, tick=False):
        generate(30, seed=1)
        generate(30, seed=1)
    assert Subscriber.select().count() == 60
    assert check_invariant() == []
    live = Account.select(Account.agent, Account.login).where(Account.deleted == False).tuples()  # noqa: E712
    assert len(list(live)) == len(set(live))
    networks = [n for (n,) in AccountIp.select(AccountIp.network).tuples()]
    assert len(networks) == len(set(networks))
    assert {m: {i.name for i in database.get_indexes(m._meta.table_name)} for m in BULK_MODELS} == indexes


def _snapshot():
    return (
        [(s.name, s.kind, s.inn) for s in Subscriber.select().order_by(Subscriber.id)],
        [(a.number, str(a.balance)) for a in Agreement.select().order_by(Agreement.id)],
        [(a.login, a.state) for a in Account.select().order_by(Account.id)],
    )


def test_same_seed_same_day_same_data(app_config, database_template, tmp_path):
    import shutil

    from lanbill import create_app

    snapshots = []
    for run in range(2):
        config = dict(app_config)
        if USE_PG:
            _reset_pg(database_template)
        else:
            target = tmp_path / f"run{run}.db"
            shutil.copy(database_template, target)
            config["DATABASE_URL"] = f"sqlite:///{target}"
        application = create_app(config)
        with application.app_context(), time_machine.travel(NOW, tick=False):
            database.connect(reuse_if_open=True)
            generate(25, seed=42)
            snapshots.append(_snapshot())
            database.close()
    assert snapshots[0] == snapshots[1]
    assert snapshots[0][0]
