"""Admin screens of the RADIUS agent and the "please pay" page."""

from __future__ import annotations

import re

from agents.radius.server import Counters, Worker, publish_status
from lanbill.billing import blocks
from lanbill.clock import now_utc
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
    from tests.admin_helpers import ru

    assert ru("unknown NAS") + ": 1" in text and 'class="accepts">7<' in text


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


def test_agents_page_shows_radius_and_netflow_status_summed_over_rows(app, client, admin, login_as):
    """/admin/agents: each RADIUS agent's requests/s, accepts, rejects, drops
    by reason, last packet and CoA queue summed over its worker rows; each
    NetFlow agent's packets/s, flows/s, malformed, unknown templates, lost
    flows and unmatched bytes summed over its exporters.  Russian by
    default, English for a manager who chose it."""
    import datetime as dt

    from flask_babel import refresh

    from lanbill.models.radius import RadiusAgentStatus
    from lanbill.models.traffic import NetflowStatus
    from tests.admin_helpers import ru

    now = now_utc()
    radius = make_agent(name="radius-main")
    idle = make_agent(name="radius-idle")
    netflow = make_agent(name="nf-core", type="netflow")
    RadiusAgentStatus.create(agent_id=radius.id, worker="host:1", requests_per_second=1200, updated_at=now,
                             last_packet_at=now - dt.timedelta(minutes=5),
                             counters={"accepts": 700, "rejects": 30, "drop:unknown_nas": 4, "drop:truncated": 1})
    RadiusAgentStatus.create(agent_id=radius.id, worker="host:2", requests_per_second=834, updated_at=now,
                             last_packet_at=now - dt.timedelta(minutes=1),
                             counters={"accepts": 41, "rejects": 2, "drop:unknown_nas": 3})
    # a worker gone quiet long ago: its counters count, its rate does not
    RadiusAgentStatus.create(agent_id=radius.id, worker="host:3", requests_per_second=5000,
                             updated_at=now - dt.timedelta(hours=1), counters={"accepts": 1})
    nas = make_nas(agent_id=radius.id)
    account = make_account(agent=radius, login="q1")
    for kind in ("disconnect", "coa"):
        CoaRequest.create(account_id=account.id, nas_id=nas.id, kind=kind, reason="block")
    CoaRequest.create(account_id=account.id, nas_id=nas.id, kind="coa", reason="speed", status="ack")
    for exporter, pps, fps, bad, unknown, lost, unmatched in (("10.0.0.1", 150, 3000, 2, 5, 17, 1000),
                                                              ("10.0.0.2", 50, 1000, 1, 0, 3, 234)):
        NetflowStatus.create(agent_id=netflow.id, exporter=exporter, packets_per_second=pps,
                             records_per_second=fps, malformed=bad, unknown_template_sets=unknown,
                             lost_flows=lost, unmatched_bytes=unmatched, updated_at=now, last_packet_at=now)
    login_as()

    def cell(html, agent_id, css):
        found = re.search(rf'id="live-{agent_id}".*?class="{css}">(.*?)</b>', html, re.S)
        assert found, (agent_id, css)
        return found.group(1)

    html = client.get("/admin/agents").get_data(as_text=True)
    assert cell(html, radius.id, "rate") == "2034"
    assert cell(html, radius.id, "accepts") == "742" and cell(html, radius.id, "rejects") == "32"
    assert cell(html, radius.id, "drops") == f"{ru('truncated packet')}: 1, {ru('unknown NAS')}: 7"
    assert cell(html, radius.id, "coa-queue") == "2"
    last = cell(html, radius.id, "last-packet")
    assert last != ru("never") and last.strip()
    assert ru("Requests per second") in html and ru("CoA queue") in html
    assert f'id="live-{idle.id}"' not in html and ru("No status reported yet.") in html
    assert cell(html, netflow.id, "pps") == "200" and cell(html, netflow.id, "fps") == "4000"
    assert cell(html, netflow.id, "malformed") == "3" and cell(html, netflow.id, "unknown-templates") == "5"
    assert cell(html, netflow.id, "lost-flows") == "20" and cell(html, netflow.id, "unmatched-bytes") == "1234"
    assert ru("Flows per second") in html and ru("Unmatched bytes") in html

    client.post("/admin/language", data={"language": "en"})
    refresh()  # the test's app context outlives requests: drop the locale it cached
    html = client.get("/admin/agents").get_data(as_text=True)
    assert "Requests per second" in html and "Flows per second" in html and "CoA queue" in html
    assert cell(html, radius.id, "accepts") == "742" and cell(html, netflow.id, "lost-flows") == "20"
    # the RADIUS status page still works and shows the queue per agent
    status = client.get("/admin/radius/status").get_data(as_text=True)
    assert 'class="coa-queue">2<' in status and "unknown NAS: 7" in status


# --- the RADIUS agent form goes through the domain's option check -----------------------------

AGENT_FORM = {"name": "radius-1", "listen_address": "127.0.0.1", "enabled": "y", "opt_auth_port": "11812",
              "opt_acct_port": "11813", "opt_interim_interval": "60", "opt_blocked_policy": "redirect",
              "opt_redirect_pool": "blocked", "opt_redirect_rate": "128k/128k", "opt_framed_pool": "",
              "opt_workers": "2"}


def _field_errors(response) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]*)<', response.get_data(as_text=True))


def test_agent_form_with_a_redirect_rate_the_agent_cannot_read_saves_nothing(app, client, admin, login_as):
    from lanbill.models import Agent
    from tests.admin_helpers import ru

    login_as()
    response = client.post("/admin/agents/new/radius", data=dict(AGENT_FORM, opt_redirect_rate="fast"))
    assert response.status_code == 422
    assert ru("Kbit/s as download/upload, e.g. 256/128.") in _field_errors(response)
    assert not Agent.select().where(Agent.name == "radius-1").exists()
    agent = make_agent(name="radius-2", options={"redirect_rate": "256/128"})
    response = client.post(f"/admin/agents/{agent.id}", data=dict(AGENT_FORM, name="radius-2",
                                                                   opt_redirect_rate="256/slow",
                                                                   version=agent.version))
    assert response.status_code == 422
    assert ru("Kbit/s as download/upload, e.g. 256/128.") in _field_errors(response)
    stored = Agent.get_by_id(agent.id)
    assert stored.options == {"redirect_rate": "256/128"} and stored.version == agent.version


def test_disconnect_of_an_ended_or_missing_session_queues_nothing(app, client, admin, login_as):
    agent = make_agent()
    nas = make_nas(agent_id=agent.id, coa_port=9)
    account = make_account(agent=agent, login="gone1")
    session = _session(account, nas, sid="gone-1")
    RadiusSession.update(stopped_at=now_utc()).where(RadiusSession.id == session.id).execute()
    login_as()
    response = client.post(f"/admin/radius/sessions/{session.id}/disconnect")
    assert response.status_code == 302
    assert client.post("/admin/radius/sessions/999999/disconnect").status_code == 404
    assert CoaRequest.select().count() == 0
