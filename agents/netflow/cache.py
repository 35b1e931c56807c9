"""The NetFlow agent's mirror of its accounts, the tariffs' categories and
its exporters: a cheap signature polled every second, a full reload when
it changes."""

from __future__ import annotations

import peewee

from agents.netflow.matcher import AccountEntry, CategoryEntry, Matcher
from lanbill.models import Account, AccountIp, Agent, Nas, TrafficCategory
from lanbill.network.agent_options import netflow_exporters


def signature(agent_id: int) -> tuple:
    """Changes whenever an account of the agent or any category changes:
    Account.updated_at is bumped on every account change (IPs, tariff,
    options, deletion); categories are few, so their content is hashed."""
    accounts = (
        Account.select(peewee.fn.COUNT(Account.id), peewee.fn.MAX(Account.updated_at))
        .where(Account.agent == agent_id)
        .tuples()
        .first()
    )
    categories = hash(tuple(
        TrafficCategory.select(TrafficCategory.id, TrafficCategory.tariff, TrafficCategory.networks)
        .order_by(TrafficCategory.id)
        .tuples()
    ))
    return (tuple(accounts or ()), categories, exporters_signature(agent_id))


def exporters_signature(agent_id: int) -> tuple:
    """Changes whenever the agent's options or its NAS change."""
    nas = tuple(Nas.select(Nas.id, Nas.ip).where(Nas.agent == agent_id).order_by(Nas.id).tuples())
    return (nas, repr(_options(agent_id)))


def load_exporters(agent_id: int) -> frozenset[str]:
    """The source addresses the agent accepts flows from (its NAS and its
    `exporters` option: lanbill/network/agent_options.py)."""
    options = _options(agent_id)
    nas = [ip for (ip,) in Nas.select(Nas.ip).where(Nas.agent == agent_id).tuples()]
    return netflow_exporters(options, nas)


def load_matcher(agent_id: int) -> Matcher:
    """Accounts of this agent that are not deleted, with their networks,
    and every category of their tariffs."""
    accounts = {}
    query = (
        Account.select(Account.id, Account.tariff, Account.keep_remote_address, Account.keep_remote_port)
        .where((Account.agent == agent_id) & (Account.deleted == False))  # noqa: E712
        .tuples()
    )
    for account_id, tariff_id, keep_address, keep_port in query:
        accounts[account_id] = AccountEntry(account_id, tariff_id, [], bool(keep_address), bool(keep_port))
    networks = (
        AccountIp.select(AccountIp.account, AccountIp.network)
        .join(Account)
        .where((Account.agent == agent_id) & (Account.deleted == False))  # noqa: E712
        .tuples()
    )
    for account_id, network in networks:
        if account_id in accounts:
            accounts[account_id].networks.append(network)
    tariffs = {a.tariff_id for a in accounts.values()}
    categories = [
        CategoryEntry(category_id, tariff_id, [n.strip() for n in (text or "").split(",") if n.strip()])
        for category_id, tariff_id, text in TrafficCategory.select(
            TrafficCategory.id, TrafficCategory.tariff, TrafficCategory.networks
        ).tuples()
        if tariff_id in tariffs
    ]
    return Matcher([a for a in accounts.values() if a.networks], categories)


def _options(agent_id: int) -> dict | None:
    agent = Agent.select(Agent.options).where(Agent.id == agent_id).first()
    return agent.options if agent else None
