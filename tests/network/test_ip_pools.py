"""Next free IP from an agent's pools: the first host no live account
holds, skipping subnets given to accounts; deleted accounts free theirs."""

from __future__ import annotations

from lanbill.customers import accounts
from lanbill.models import Agent
from lanbill.network import agents
from lanbill.network.ip_pools import next_free_ip
from tests.factories import ACTOR, make_account, make_agent


def test_next_free_ip_walks_the_pools_in_order(app):
    agent = make_agent(name="rad-pools")
    assert next_free_ip(agent) is None  # no pools
    agents.update_agent(agent.id, {"options": {**agent.options, "ip_pools": ["10.0.0.0/30", "10.0.1.0/29"]}},
                        actor=ACTOR)
    agent = Agent.get_by_id(agent.id)
    assert next_free_ip(agent) == "10.0.0.1"  # the network address is never handed out
    first = make_account(agent=agent, login="p1", ips="10.0.0.1")
    assert next_free_ip(agent) == "10.0.0.2"
    make_account(agent=agent, login="p2", ips="10.0.0.2")
    assert next_free_ip(agent) == "10.0.1.1"  # the first pool is full (.3 is its broadcast)
    make_account(agent=agent, login="p3", ips="10.0.1.0/30")  # a subnet covers .1–.3
    assert next_free_ip(agent) == "10.0.1.4"
    accounts.delete_account(first, actor=ACTOR)
    assert next_free_ip(agent) == "10.0.0.1"


def test_a_wrong_pool_is_refused_with_a_message(app):
    import pytest

    from lanbill.errors import ValidationError

    agent = make_agent(name="rad-bad")
    with pytest.raises(ValidationError) as refused:
        agents.update_agent(agent.id, {"options": {**agent.options, "ip_pools": ["10.0.0.1/24"]}}, actor=ACTOR)
    assert "options.ip_pools" in refused.value.fields
