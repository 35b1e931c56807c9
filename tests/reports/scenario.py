"""Hand-made ledgers for the report tests, posted through the domain
functions at chosen moments (time-machine), and the figures computed
independently from the LedgerEntry rows in Python."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import cancel_payment, post_payment
from lanbill.clock import local_date_of, to_utc
from lanbill.customers.subscribers import add_to_group
from lanbill.models import Agreement, LedgerEntry, Payment
from tests.admin_helpers import make_group
from tests.factories import ACTOR, make_account, make_agent, make_agreement, make_subscriber, make_tariff

D = Decimal


def at(text: str):
    """A time-machine travel to local (Moscow) time `text`."""
    local = dt.datetime.fromisoformat(text)
    return time_machine.travel(to_utc(local).replace(tzinfo=dt.UTC), tick=False)


class Scenario:
    """Three subscribers: one in North, one in South, one in both; tariffs
    A (650) and B (300); January and February 2026 of rent, a service, a
    traffic charge, a correction, payments and one cancelled payment."""

    def __init__(self):
        self.north, self.south = make_group("Север"), make_group("Юг")
        self.tariff_a = make_tariff(name="Тариф А", rent="650.00")
        self.tariff_b = make_tariff(name="Тариф Б", rent="300.00")
        agent = make_agent()
        self.subs, self.agreements, self.accounts = [], [], []
        for groups, tariff in (((self.north,), self.tariff_a), ((self.south,), self.tariff_b),
                               ((self.north, self.south), self.tariff_a)):
            sub = make_subscriber()
            for group in groups:
                add_to_group(sub, group, actor=ACTOR)
            agreement = make_agreement(sub)
            account = make_account(agreement, agent=agent, tariff=tariff, connect_date="2025-12-15")
            self.subs.append(sub)
            self.agreements.append(agreement)
            self.accounts.append(account)
        a1, a2, a3 = self.agreements
        t = {a1.id: self.tariff_a, a2.id: self.tariff_b, a3.id: self.tariff_a}
        with at("2026-01-01 00:00:00"):
            for ag in self.agreements:
                post_entry(ag.id, -t[ag.id].rent, "rent", actor=ACTOR, tariff=t[ag.id])
        with at("2026-01-10 12:00:00"):
            post_payment(a1, "1000.00", "P-1", actor=ACTOR, method="cash")
        with at("2026-01-20 18:30:00"):
            self.cancelled, _ = post_payment(a2, "500.00", "P-2", actor=ACTOR, method="bank")
        with at("2026-01-31 23:59:00"):
            post_payment(a3, "100.00", "P-3", actor=ACTOR, method="card")
        with at("2026-02-01 00:00:00"):
            for ag in self.agreements:
                post_entry(ag.id, -t[ag.id].rent, "rent", actor=ACTOR, tariff=t[ag.id])
            post_entry(a3.id, D("-100.00"), "service", actor=ACTOR)
            post_entry(a1.id, D("-12.34"), "volume", actor=ACTOR, tariff=self.tariff_a)
        with at("2026-02-02 10:00:00"):
            cancel_payment(self.cancelled, actor=ACTOR, reason="ошибка")
            post_entry(a2.id, D("50.00"), "correction", actor=ACTOR)
        with at("2026-02-15 09:00:00"):
            post_payment(a3, "650.00", "P-4", actor=ACTOR, method="cash")
        with at("2026-03-01 00:00:00"):
            for ag in self.agreements:
                post_entry(ag.id, -t[ag.id].rent, "rent", actor=ACTOR, tariff=t[ag.id])


def ledger_by_month(agreement_ids=None) -> dict:
    """{(YYYY-MM, kind): Decimal} straight from the ledger rows."""
    out: dict = {}
    for entry in LedgerEntry.select():
        if agreement_ids is not None and entry.agreement_id not in agreement_ids:
            continue
        key = (local_date_of(entry.created_at).strftime("%Y-%m"), entry.kind)
        out[key] = out.get(key, D("0.00")) + entry.amount
    return out


def balance_before(day: dt.date, agreement_ids=None) -> Decimal:
    total = D("0.00")
    for entry in LedgerEntry.select():
        if agreement_ids is not None and entry.agreement_id not in agreement_ids:
            continue
        if local_date_of(entry.created_at) < day:
            total += entry.amount
    return total


def balances(agreement_ids=None) -> Decimal:
    return sum((a.balance for a in Agreement.select() if agreement_ids is None or a.id in agreement_ids), D("0.00"))


def payments_of(first: dt.date, last: dt.date, agreement_ids=None) -> tuple:
    live, cancelled = [], []
    for p in Payment.select():
        if agreement_ids is not None and p.agreement_id not in agreement_ids:
            continue
        if first <= local_date_of(p.paid_at) <= last:
            (cancelled if p.cancelled_at else live).append(p.amount)
    return live, cancelled
