"""Static addresses for accounts from an agent's pools (the RADIUS agent's
`ip_pools` option): "next free IP" on the account form.

Rule: the first host address of the pools, in the order staff listed them,
that no live account of any agent holds — neither as a single address nor
inside a subnet given to an account.  Network and broadcast addresses of an
IPv4 pool wider than /31 are never handed out.  Nothing is reserved: the
address is a suggestion the account form fills in, and saving the account
checks it like any typed address."""

from __future__ import annotations

import ipaddress

from lanbill.models import Account, AccountIp, Agent

# Hosts looked at per pool before giving up (a /16 is 65,534 hosts).
SCAN_LIMIT = 1 << 20


def agent_pools(agent: Agent) -> list:
    return [ipaddress.ip_network(text, strict=True) for text in (agent.options or {}).get("ip_pools") or ()]


def _taken(pools) -> list:
    """The live accounts' networks that overlap any pool."""
    taken = []
    rows = (AccountIp.select(AccountIp.network).join(Account, on=(AccountIp.account == Account.id))
            .where(Account.deleted == False).tuples())  # noqa: E712
    for (text,) in rows:
        network = ipaddress.ip_network(text, strict=False)
        if any(network.version == pool.version and network.overlaps(pool) for pool in pools):
            taken.append(network)
    return taken


def next_free_ip(agent: Agent) -> str | None:
    """The next free address of the agent's pools (see the module rule), or
    None when the agent has no pools or they are full."""
    pools = agent_pools(agent)
    if not pools:
        return None
    taken = _taken(pools)
    single = {network.network_address for network in taken if network.num_addresses == 1}
    wider = [network for network in taken if network.num_addresses > 1]
    for pool in pools:
        for scanned, host in enumerate(pool.hosts()):
            if scanned >= SCAN_LIMIT:
                break
            if host in single or any(host in network for network in wider):
                continue
            return str(host)
    return None
