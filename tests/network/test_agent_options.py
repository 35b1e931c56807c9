"""Agent options (lanbill/network/agent_options.py): every create and
update checks them against the agent type's known options, so the agents
never read a value they cannot use."""

from __future__ import annotations

import pytest

from agents.radius.cache import Cache
from lanbill.errors import ValidationError
from lanbill.models import Agent
from lanbill.network import agents
from lanbill.network.agent_options import AGENT_OPTIONS, RadiusOptions, clean_agent_options
from tests.factories import ACTOR, make_agent

BAD_RADIUS_OPTIONS = [
    ({"auth_port": "1812"}, "options.auth_port"),  # a string, not a number
    ({"acct_port": 70000}, "options.acct_port"),
    ({"interim_interval": 0}, "options.interim_interval"),
    ({"workers": True}, "options.workers"),
    ({"workers": 17}, "options.workers"),
    ({"blocked_policy": "drop"}, "options.blocked_policy"),
    ({"redirect_rate": "fast"}, "options.redirect_rate"),
    ({"redirect_rate": "-5/10"}, "options.redirect_rate"),
    ({"redirect_pool": 5}, "options.redirect_pool"),
    ({"framed_pool": "x" * 256}, "options.framed_pool"),
    ({"redirect_states": ["active"]}, "options.redirect_states"),
    ({"redirect_states": "balance"}, "options.redirect_states"),
    ({"colour": "blue"}, "options.colour"),  # no such option
]


@pytest.mark.parametrize("options,field", BAD_RADIUS_OPTIONS)
def test_a_radius_option_of_the_wrong_kind_or_range_is_refused(options, field):
    with pytest.raises(ValidationError) as refused:
        clean_agent_options("radius", options)
    assert field in refused.value.fields


def test_every_known_option_accepts_its_own_default():
    for agent_type, options in AGENT_OPTIONS.items():
        defaults = {option.key: option.default for option in options}
        assert clean_agent_options(agent_type, defaults) == defaults


def test_well_formed_options_pass_and_none_is_no_options():
    options = {"auth_port": 11812, "blocked_policy": "redirect", "redirect_rate": "256k/128k",
               "redirect_states": ["balance", "traffic"], "workers": 4}
    assert clean_agent_options("radius", options) == options
    assert clean_agent_options("netflow", {"port": 9995, "flush_seconds": 30}) == {"port": 9995, "flush_seconds": 30}
    assert clean_agent_options("radius", None) == {}
    with pytest.raises(ValidationError) as refused:
        clean_agent_options("radius", ["auth_port"])
    assert refused.value.fields == {"options": "Must be an object."}


def test_netflow_options_are_not_radius_options():
    with pytest.raises(ValidationError) as refused:
        clean_agent_options("netflow", {"auth_port": 1812})
    assert refused.value.fields == {"options.auth_port": "Unknown option."}


def test_create_and_update_refuse_bad_options_and_write_nothing(app):
    with pytest.raises(ValidationError):
        agents.create_agent({"name": "r1", "type": "radius", "options": {"auth_port": "x"}}, actor=ACTOR)
    assert not Agent.select().where(Agent.name == "r1").exists()
    agent = make_agent(options={"auth_port": 11812})
    with pytest.raises(ValidationError):
        agents.update_agent(agent.id, {"options": {"auth_port": 11812, "workers": "many"}}, actor=ACTOR)
    stored = Agent.get_by_id(agent.id)
    assert stored.options == {"auth_port": 11812} and stored.version == agent.version


def test_an_unknown_key_already_stored_survives_an_update_but_cannot_change(app):
    """What another part of the system keeps in `options` is not lost
    when staff edit the agent; it cannot be written anew through here."""
    agent = make_agent()
    Agent.update(options={"secret_feature": 1}).where(Agent.id == agent.id).execute()
    updated = agents.update_agent(agent.id, {"options": {"secret_feature": 1, "workers": 2}}, actor=ACTOR)
    assert updated.options == {"secret_feature": 1, "workers": 2}
    with pytest.raises(ValidationError) as refused:
        agents.update_agent(agent.id, {"options": {"secret_feature": 2}}, actor=ACTOR)
    assert refused.value.fields == {"options.secret_feature": "Unknown option."}


def test_radius_options_read_with_their_defaults():
    options = RadiusOptions({})
    assert (options.auth_port, options.acct_port, options.interim_interval, options.workers) == (1812, 1813, 300, 1)
    assert options.blocked_policy == "reject" and options.redirect_states == ("balance",)
    redirecting = RadiusOptions({"blocked_policy": "redirect"})
    assert redirecting.mode_for("active") == "accept"
    assert redirecting.mode_for("balance") == "redirect"
    assert redirecting.mode_for("admin") == "reject" and options.mode_for("balance") == "reject"


def test_the_radius_cache_reads_only_values_the_domain_let_through(app):
    agent = make_agent(options={"auth_port": 11812, "redirect_rate": "256/128"})
    for bad in BAD_RADIUS_OPTIONS:
        with pytest.raises(ValidationError):
            agents.update_agent(agent.id, {"options": bad[0]}, actor=ACTOR)
    cache = Cache([agent.id])
    cache.load()
    cached = cache.agents[agent.id]
    assert cached.auth_port == 11812 and cached.redirect_rate == "256/128"


def test_mschap1_is_off_by_default_and_takes_only_yes_or_no(app):
    assert RadiusOptions({}).allow_mschap1 is False
    assert RadiusOptions({"allow_mschap1": True}).allow_mschap1 is True
    with pytest.raises(ValidationError) as refused:
        clean_agent_options("radius", {"allow_mschap1": "yes"})
    assert "options.allow_mschap1" in refused.value.fields
