"""CoA on a speed change (RFC 5176): an online account whose bandwidth, or
whose tariff's speed, changes gets a CoA-Request with the new rate at its
NAS's CoA port — on reject-policy and redirect-policy agents alike (only a
block is a Disconnect).  Real UDP to a fake NAS on loopback."""

from __future__ import annotations

import pytest

from agents.radius import coa
from agents.radius import protocol as p
from lanbill.models.radius import CoaRequest
from tests.factories import ACTOR, make_account, make_tariff
from tests.radius_harness import wait_for
from tests.test_radius_accounting import ANSWERED, FakeNas

POLICIES = {
    "reject": {},
    "redirect": {"blocked_policy": "redirect", "redirect_pool": "unpaid", "redirect_rate": "256/128"},
}


def _speed_ack():
    return CoaRequest.get_or_none((CoaRequest.reason == "speed") & (CoaRequest.status == "ack"))


@pytest.mark.parametrize("policy,vendor", [("reject", "mikrotik"), ("redirect", "mikrotik"),
                                           ("reject", "accel-ppp")])
def test_bandwidth_change_sends_coa_with_the_new_rate(app, radius_factory, policy, vendor):
    from lanbill.billing import accounts
    from lanbill.models import AuditLog

    nas = FakeNas([(p.COA_ACK, None)])
    try:
        radius = radius_factory(options=POLICIES[policy], coa_timeout=ANSWERED,
                                nas_over={"coa_port": nas.port, "vendor": vendor})
        account = make_account(agent=radius.agent, login="sp1", password="pw-1", bandwidth_kbit=1024)
        radius.refresh()
        radius.accounting("sp1", "s-sp1", "Start", Framed_IP_Address="10.0.0.9")
        accounts.update_account(account, {"bandwidth_kbit": 2048}, actor=ACTOR)
        # no refresh by hand: the agent's own refresher must notice it
        request = wait_for(_speed_ack)
        assert request.kind == "coa" and request.account_id == account.id
        assert request.attributes["rate"] == [2048, 2048]
        [sent] = nas.received
        assert sent.code == p.COA_REQUEST
        assert sent.attrs[p.USER_NAME] == b"sp1" and sent.attrs[p.ACCT_SESSION_ID] == b"s-sp1"
        if vendor == "mikrotik":
            assert sent.vsa[(p.VENDOR_MIKROTIK, 8)] == b"2048k/2048k"
        else:
            assert sent.attrs[p.FILTER_ID] == b"2048/2048"
        assert p.FRAMED_POOL not in sent.attrs  # the account keeps its pool
        assert AuditLog.get_or_none((AuditLog.action == "radius.coa.ack") & (AuditLog.object_id == str(account.id)))
    finally:
        nas.close()


@pytest.mark.parametrize("policy", ["reject", "redirect"])
def test_tariff_speed_change_sends_coa_to_its_online_accounts(app, radius_factory, policy):
    from lanbill.billing import catalog

    nas = FakeNas([(p.COA_ACK, None)])
    try:
        radius = radius_factory(options=POLICIES[policy], coa_timeout=ANSWERED, nas_over={"coa_port": nas.port})
        tariff = make_tariff(speed_in_kbit=4096, speed_out_kbit=1024, framed_pool="fast")
        online = make_account(agent=radius.agent, login="sp2", password="pw-1", tariff=tariff)
        make_account(agent=radius.agent, login="sp3", password="pw-1", tariff=tariff)  # offline: nothing
        radius.refresh()
        radius.accounting("sp2", "s-sp2", "Start")
        catalog.update_tariff(tariff, {"speed_in_kbit": 8192, "speed_out_kbit": 2048}, actor=ACTOR)
        request = wait_for(_speed_ack)
        assert request.account_id == online.id and request.attributes["rate"] == [8192, 2048]
        [sent] = nas.received
        assert sent.code == p.COA_REQUEST
        assert sent.vsa[(p.VENDOR_MIKROTIK, 8)] == b"2048k/8192k"  # upload/download, router's view
        assert sent.attrs[p.FRAMED_POOL] == b"fast"
        assert CoaRequest.select().count() == 1
    finally:
        nas.close()


def test_speed_change_of_a_redirected_account_sends_nothing(app, radius_factory):
    """A balance-blocked account on a redirect agent runs at the redirect
    rate: its own speed is not the NAS's business until it pays."""
    from lanbill.billing import blocks
    from lanbill.models import Account

    radius = radius_factory(options=POLICIES["redirect"])
    account = make_account(agent=radius.agent, login="sp4", password="pw-1", bandwidth_kbit=1024)
    radius.refresh()
    radius.accounting("sp4", "s-sp4", "Start")
    blocks.set_flag(account, "balance", True, actor=ACTOR, reason="debt")
    account = Account.get_by_id(account.id)
    assert coa.requests_for_speed(account, radius.cache.agents[radius.agent.id]) == []
    # an active account on the same agent does get one
    blocks.set_flag(account, "balance", False, actor=ACTOR, reason="paid")
    account = Account.get_by_id(account.id)
    [request] = coa.requests_for_speed(account, radius.cache.agents[radius.agent.id])
    assert request.kind == "coa" and request.reason == "speed" and request.attributes["rate"] == [1024, 1024]
