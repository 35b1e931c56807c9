"""CoA on a speed change (RFC 5176): an online account whose bandwidth, or
whose tariff's speed, changes gets a CoA-Request with the new rate at its
NAS's CoA port — on reject-policy and redirect-policy agents alike (only a
block is a Disconnect).  Real UDP to a fake NAS on loopback."""

from __future__ import annotations

import pytest

from agents.radius import protocol
from agents.radius.coa import send_batch
from lanbill.models.radius import CoaRequest
from lanbill.network import coa
from tests.agents.test_radius_accounting import ANSWERED, FakeNas
from tests.factories import ACTOR, make_account, make_tariff
from tests.radius_harness import wait_for

POLICIES = {
    "reject": {},
    "redirect": {"blocked_policy": "redirect", "redirect_pool": "unpaid", "redirect_rate": "256/128"},
}


def _speed_ack():
    return CoaRequest.get_or_none((CoaRequest.reason == "speed") & (CoaRequest.status == "ack"))


@pytest.mark.parametrize("policy,vendor", [("reject", "mikrotik"), ("redirect", "mikrotik"),
                                           ("reject", "accel-ppp")])
def test_bandwidth_change_sends_coa_with_the_new_rate(app, radius_factory, policy, vendor):
    from lanbill.customers import accounts
    from lanbill.models import AuditLog

    nas = FakeNas([(protocol.COA_ACK, None)])
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
        assert sent.code == protocol.COA_REQUEST
        assert sent.attrs[protocol.USER_NAME] == b"sp1" and sent.attrs[protocol.ACCT_SESSION_ID] == b"s-sp1"
        if vendor == "mikrotik":
            assert sent.vsa[(protocol.VENDOR_MIKROTIK, 8)] == b"2048k/2048k"
        else:
            assert sent.attrs[protocol.FILTER_ID] == b"2048/2048"
        assert protocol.FRAMED_POOL not in sent.attrs  # the account keeps its pool
        assert AuditLog.get_or_none((AuditLog.action == "radius.coa.ack") & (AuditLog.object_id == str(account.id)))
    finally:
        nas.close()


@pytest.mark.parametrize("policy", ["reject", "redirect"])
def test_tariff_speed_change_sends_coa_to_its_online_accounts(app, radius_factory, policy):
    from lanbill.billing import tariffs

    nas = FakeNas([(protocol.COA_ACK, None)])
    try:
        radius = radius_factory(options=POLICIES[policy], coa_timeout=ANSWERED, nas_over={"coa_port": nas.port})
        tariff = make_tariff(speed_in_kbit=4096, speed_out_kbit=1024, framed_pool="fast")
        online = make_account(agent=radius.agent, login="sp2", password="pw-1", tariff=tariff)
        make_account(agent=radius.agent, login="sp3", password="pw-1", tariff=tariff)  # offline: nothing
        radius.refresh()
        radius.accounting("sp2", "s-sp2", "Start")
        tariffs.update_tariff(tariff, {"speed_in_kbit": 8192, "speed_out_kbit": 2048}, actor=ACTOR)
        request = wait_for(_speed_ack)
        assert request.account_id == online.id and request.attributes["rate"] == [8192, 2048]
        [sent] = nas.received
        assert sent.code == protocol.COA_REQUEST
        assert sent.vsa[(protocol.VENDOR_MIKROTIK, 8)] == b"2048k/8192k"  # upload/download, router's view
        assert sent.attrs[protocol.FRAMED_POOL] == b"fast"
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


# --- the RADIUS_COA_* settings ---------------------------------------------------------------

def test_short_coa_timeout_and_retry_settings_are_honoured(app):
    """A silent NAS: one attempt waits RADIUS_COA_TIMEOUT (not the 2 s
    default), the retry comes after RADIUS_COA_BACKOFF, and after
    RADIUS_COA_MAX_ATTEMPTS the request is given up as failed."""
    import datetime as dt
    import time

    import time_machine

    from tests.factories import make_nas
    from tests.radius_harness import SECRET

    app.config.update(RADIUS_COA_TIMEOUT=0.2, RADIUS_COA_BACKOFF=3, RADIUS_COA_MAX_ATTEMPTS=2)
    nas = FakeNas([None, None])
    try:
        row = make_nas(ip="127.0.0.1", secret=SECRET, coa_port=nas.port)
        account = make_account(login="sp5", password="pw-1")
        request = CoaRequest.create(account_id=account.id, nas_id=row.id, kind="disconnect", reason="block",
                                    attributes={"User-Name": "sp5", "Acct-Session-Id": "s-sp5"})
        started = time.monotonic()
        assert coa.retry_due(send_batch, rules=coa.retry_policy(app.config)) == 1
        elapsed = time.monotonic() - started
        assert 0.2 <= elapsed < 1.5, elapsed  # the default would wait 2 s
        request = CoaRequest.get_by_id(request.id)
        assert request.result == "timeout" and len(nas.received) == 1
        assert request.next_attempt_at - request.last_attempt_at == dt.timedelta(seconds=3)
        with time_machine.travel(request.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            assert coa.retry_due(send_batch, rules=coa.retry_policy(app.config)) == 1
        request = CoaRequest.get_by_id(request.id)
        assert request.status == "failed" and request.attempts == 2 and len(nas.received) == 2
    finally:
        nas.close()


def test_coa_settings_from_environment_and_bad_values_refused(app, monkeypatch, tmp_path):
    from lanbill.config import load_settings, radius_coa_settings

    monkeypatch.setenv("LANBILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("LANBILL_RADIUS_COA_TIMEOUT", "0.25")
    monkeypatch.setenv("LANBILL_RADIUS_COA_MAX_ATTEMPTS", "7")
    assert load_settings({"INSTANCE_PATH": str(tmp_path)})["RADIUS_COA_TIMEOUT"] == 0.25
    # without an app (a Huey worker thread): same precedence, read only
    assert radius_coa_settings() == {"RADIUS_COA_TIMEOUT": 0.25, "RADIUS_COA_MAX_ATTEMPTS": 7,
                                     "RADIUS_COA_BACKOFF": 10, "RADIUS_COA_BACKOFF_MAX": 600}
    rules = coa.retry_policy({})
    assert rules.timeout == 0.25 and rules.max_attempts == 7
    assert rules.backoff(1).total_seconds() == 10 and rules.backoff(50).total_seconds() == 600
    monkeypatch.setenv("LANBILL_RADIUS_COA_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="LANBILL_RADIUS_COA_TIMEOUT"):
        load_settings({"INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ValueError, match="RADIUS_COA_BACKOFF: a positive number"):
        radius_coa_settings({"RADIUS_COA_TIMEOUT": 1, "RADIUS_COA_MAX_ATTEMPTS": 3, "RADIUS_COA_BACKOFF": 0,
                             "RADIUS_COA_BACKOFF_MAX": 60})
