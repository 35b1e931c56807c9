"""Small factories for tests: make_subscriber(**over) and friends.

They call the same domain functions the screens and the API use.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from lanbill.actor import Actor
from lanbill.billing import tariffs
from lanbill.customers import accounts, agreements, subscribers
from lanbill.network import agents

ACTOR = Actor("test", is_staff=True)
_seq = itertools.count(1)


def make_subscriber(**over):
    n = next(_seq)
    data = {"kind": "individual", "name": f"Иванов Иван {n}", "email": f"ivanov{n}@example.ru",
            "phone": f"+7900000{n:04d}"}
    data.update(over)
    groups = data.pop("groups", ())
    return subscribers.create_subscriber(data, actor=ACTOR, groups=groups)


def make_agreement(subscriber=None, **over):
    subscriber = subscriber or make_subscriber()
    return agreements.create_agreement(subscriber, actor=ACTOR, **over)


def make_tariff(**over):
    data = {"name": f"Тариф {next(_seq)}", "scheme": "dynamic", "rent": "650.00", "rent_blocked": "0"}
    data.update(over)
    return tariffs.create_tariff(data, actor=ACTOR)


def make_agent(**over):
    data = {"name": f"agent-{next(_seq)}", "type": "radius", "options": {}}
    data.update(over)
    return agents.create_agent(data, actor=ACTOR)


def make_account(agreement=None, **over):
    agreement = agreement or make_agreement()
    agent = over.pop("agent", None) or make_agent()
    tariff = over.pop("tariff", None) or make_tariff()
    data = {"agreement_id": agreement.id, "agent_id": agent.id, "tariff_id": tariff.id,
            "login": f"user{next(_seq)}", "password": "pw-123456", "ips": []}
    data.update(over)
    return accounts.create_account(data, actor=ACTOR)


def make_nas(**over):
    data = {"name": f"nas-{next(_seq)}", "ip": f"127.0.0.{next(_seq) % 250 + 2}", "secret": "testing123",
            "vendor": "mikrotik"}
    data.update(over)
    return agents.create_nas(data, actor=ACTOR)


def money(text) -> Decimal:
    return Decimal(text)


def table_counts() -> dict:
    """Rows in every table: compare before/after to prove a refused
    request wrote nothing (audit log included)."""
    from lanbill.db import database

    return {
        table: database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        for table in database.get_tables()
    }
