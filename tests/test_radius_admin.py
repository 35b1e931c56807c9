"""Admin screens of the RADIUS agent and the "please pay" page."""

from __future__ import annotations

from agents.radius.server import Counters, Worker, publish_status
from lanbill.billing import blocks
from lanbill.billing.clock import now_utc
from lanbill.models.radius import CoaRequest, RadiusSession
from tests.factories import ACTOR, make_account, make_agent, make_nas


def _session(account, nas, ip="10.9.0.1", sid="adm-1"):
    now = now_utc()
    return RadiusSession.create(agent_id=account.agent_id, nas_id=nas.id, account_id=account.id, login=account.login,
                                acct_session_id=sid, framed_ip=ip, started_at=now, updated_at=now,
                                state_changed_at=now, output_octets=5 * 1048576)


def test_online_sessions_page_lists_and_disconnect_queues_a_request(app, client, admin, login_as):
    agent = make_agent()
    nas = make_nas(agent_id=agent.id, coa_port=9)  # discard port: no answer, stays pending
    account = make_account(agent=agent, login="online1")
    session = _session(account, nas)
    app.config["RADIUS_COA_TIMEOUT"] = 0.05
    login_as()
    page = client.get("/admin/radius/sessions")
    assert page.status_code == 200
    assert b"online1" in page.data and b"10.9.0.1" in page.data
    response = client.post(f"/admin/radius/sessions/{session.id}/disconnect")
    assert response.status_code == 302
    request = CoaRequest.get(CoaRequest.session_id == session.id)
    assert request.kind == "disconnect" and request.reason == "staff" and request.actor == "manager:admin"
    history = client.get(f"/admin/radius/accounts/{account.id}/coa")
    assert b"disconnect" in history.data


def test_status_page_shows_published_counters(app, client, admin, login_as):
    from agents.radius.cache import Cache

    agent = make_agent()
    cache = Cache([agent.id])
    cache.load()
    worker = Worker(cache, {}, name="w1")
    worker.counters = Counters()
    worker.counters.add("auth_requests", 10)
    worker.counters.add("accepts", 7)
    worker.counters.add("rejects", 3)
    worker.counters.drop("unknown_nas")
    publish_status(worker, {})
    login_as()
    page = client.get("/admin/radius/status")
    assert page.status_code == 200
    text = page.data.decode()
    assert "unknown_nas: 1" in text and 'class="accepts">7<' in text


def test_please_pay_page_finds_the_account_by_ip(app, client):
    agent = make_agent()
    account = make_account(agent=agent, login="debtor2", ips=["10.20.0.5"])
    blocks.set_flag(account, "balance", True, actor=ACTOR, reason="debt")
    page = client.get("/blocked", environ_base={"REMOTE_ADDR": "10.20.0.5"})
    assert page.status_code == 200
    assert b"debtor2" in page.data and b'id="balance"' in page.data
    unknown = client.get("/blocked", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert unknown.status_code == 200 and b"debtor2" not in unknown.data


def test_please_pay_page_finds_a_redirect_pool_address_by_session(app, client):
    agent = make_agent()
    nas = make_nas(agent_id=agent.id)
    account = make_account(agent=agent, login="debtor3")
    _session(account, nas, ip="100.64.0.7")
    page = client.get("/blocked", environ_base={"REMOTE_ADDR": "100.64.0.7"})
    assert b"debtor3" in page.data
