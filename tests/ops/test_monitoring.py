"""/healthz and /metrics (DESIGN §14): answered only to configured
addresses; 503 when the worker, an enabled agent, billing or the backup is
down; Prometheus text read back with prometheus_client's own parser."""

from __future__ import annotations

import datetime as dt

import time_machine
from prometheus_client.parser import text_string_to_metric_families

from lanbill.billing.payments import post_payment
from lanbill.clock import now_utc, today
from lanbill.models import Agent, Setting
from lanbill.models.billing import BillingDay
from lanbill.models.paysys import PaymentSystem
from lanbill.models.radius import CoaRequest, RadiusAgentStatus
from lanbill.models.traffic import NetflowAgentStatus, NetflowStatus
from lanbill.operations import health
from lanbill.operations.backup import LAST_BACKUP_SETTING
from tests.factories import ACTOR, make_agent, make_agreement

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def healthz(client, **environ):
    response = client.get("/healthz", environ_base=environ or {"REMOTE_ADDR": "127.0.0.1"})
    return response.status_code, response.get_json()


def metrics(client) -> dict:
    """{(name, frozenset(labels)): value} of one scrape."""
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def test_both_are_refused_to_other_addresses(app, client):
    assert client.get("/healthz", environ_base=OUTSIDE).status_code == 403
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 403
    app.config["MONITORING_ALLOWED"] = "10.0.0.0/8, 203.0.113.0/24"  # as LANBILL_MONITORING_ALLOWED gives it
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 200
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "::ffff:10.1.2.3"}).status_code in (200, 503)
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 403


def test_a_silent_worker_is_down_and_a_beating_one_is_up(app, client):
    status, body = healthz(client)
    assert status == 503 and body["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["worker"] == {"status": "down", "last_heartbeat": None, "age_seconds": None}
    assert body["checks"]["billing"]["status"] == "unknown" and body["checks"]["backup"]["status"] == "unknown"
    health.beat()
    status, body = healthz(client)
    assert status == 200 and body["status"] == "ok", body
    with time_machine.travel(now_utc().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=4), tick=False):
        status, body = healthz(client)
    assert status == 503 and body["checks"]["worker"]["age_seconds"] >= 240


def test_each_enabled_agent_needs_a_fresh_status_row(app, client):
    health.beat()
    radius = make_agent(name="radius-1")
    netflow = make_agent(name="netflow-1", type="netflow")
    spare = make_agent(name="spare", type="radius")
    Agent.update(enabled=False).where(Agent.id == spare.id).execute()
    status, body = healthz(client)
    assert status == 503
    assert body["checks"]["agent:radius-1"]["status"] == "down"
    assert body["checks"]["agent:netflow-1"]["status"] == "down"
    assert "agent:spare" not in body["checks"]
    RadiusAgentStatus.create(agent_id=radius.id, worker="main", counters={}, updated_at=now_utc())
    NetflowAgentStatus.create(agent_id=netflow.id, updated_at=now_utc() - dt.timedelta(minutes=10))
    status, body = healthz(client)
    assert body["checks"]["agent:radius-1"]["status"] == "ok"
    assert body["checks"]["agent:netflow-1"]["status"] == "down" and status == 503
    NetflowAgentStatus.update(updated_at=now_utc()).execute()
    status, body = healthz(client)
    assert status == 200, body


def test_stale_billing_and_an_old_backup_are_down(app, client):
    health.beat()
    started = now_utc() - dt.timedelta(days=3)
    BillingDay.create(day=today() - dt.timedelta(days=3), started_at=started,
                      finished_at=started + dt.timedelta(seconds=42), accounts=10, entries=12)
    Setting.create(key=LAST_BACKUP_SETTING,
                   value=f'{{"at": "{(now_utc() - dt.timedelta(hours=40)).isoformat()}", "path": "x", "bytes": 5}}')
    status, body = healthz(client)
    assert status == 503
    assert body["checks"]["billing"]["status"] == "down" and body["checks"]["billing"]["duration_seconds"] == 42
    assert body["checks"]["backup"]["status"] == "down" and body["checks"]["backup"]["age_seconds"] >= 40 * 3600
    BillingDay.create(day=today(), started_at=now_utc(), finished_at=now_utc(), accounts=10, entries=0)
    app.config["BACKUP_MAX_AGE_HOURS"] = 48
    status, body = healthz(client)
    assert status == 200, body


def test_metrics_carry_agents_coa_billing_payments(app, client):
    radius = make_agent(name="radius-1")
    netflow = make_agent(name="nf", type="netflow")
    for worker, auth in (("main", 7), ("w2", 3)):
        RadiusAgentStatus.create(agent_id=radius.id, worker=worker, counters={
            "auth_requests": auth, "acct_requests": 20, "accepts": auth - 1, "rejects": 1,
            "reject:bad_password": 1, "drop:unknown_nas": 2})
    NetflowStatus.create(agent_id=netflow.id, exporter="10.0.0.1", packets=5, records=150, malformed=1)
    NetflowAgentStatus.create(agent_id=netflow.id, unknown_exporter=4)
    for status in ("ack", "ack", "nak", "failed"):
        CoaRequest.create(nas_id=1, kind="disconnect", status=status)
    day = now_utc()
    BillingDay.create(day=today(), started_at=day, finished_at=day + dt.timedelta(seconds=3), entries=9)
    system = PaymentSystem.create(code="sber", name="Сбербанк Онлайн", kind="sberbank")
    agreement = make_agreement()
    post_payment(agreement, "100", "M-1", actor=ACTOR, payment_system=system, external_id="e1")
    post_payment(agreement, "100", "M-2", actor=ACTOR)
    post_payment(agreement, "100", "M-3", actor=ACTOR)
    health.beat()

    m = metrics(client)
    assert m[("lanbill_radius_requests_total", frozenset({("agent", "radius-1"), ("kind", "auth")}))] == 10
    assert m[("lanbill_radius_replies_total", frozenset({("agent", "radius-1"), ("reply", "accept")}))] == 8
    assert m[("lanbill_radius_drops_total", frozenset({("agent", "radius-1"), ("reason", "unknown_nas")}))] == 4
    assert m[("lanbill_radius_rejects_by_reason_total",
              frozenset({("agent", "radius-1"), ("reason", "bad_password")}))] == 2
    assert m[("lanbill_netflow_records_total", frozenset({("agent", "nf"), ("exporter", "10.0.0.1")}))] == 150
    assert m[("lanbill_netflow_drops_total",
              frozenset({("agent", "nf"), ("exporter", "10.0.0.1"), ("reason", "malformed")}))] == 1
    assert m[("lanbill_netflow_drops_total",
              frozenset({("agent", "nf"), ("exporter", ""), ("reason", "unknown_exporter")}))] == 4
    assert m[("lanbill_coa_requests", frozenset({("kind", "disconnect"), ("status", "ack")}))] == 2
    assert m[("lanbill_coa_requests", frozenset({("kind", "disconnect"), ("status", "failed")}))] == 1
    assert m[("lanbill_billing_run_duration_seconds", frozenset())] == 3
    assert m[("lanbill_payments_total", frozenset({("system", "sber")}))] == 1
    assert m[("lanbill_payments_total", frozenset({("system", "cash")}))] == 2
    assert m[("lanbill_check_up", frozenset({("check", "worker")}))] == 1
    assert m[("lanbill_worker_heartbeat_age_seconds", frozenset())] < 60


def test_outbox_depth_of_notifications_and_receipts(app, client):
    from lanbill.models import OutboxMessage

    assert metrics(client)[("lanbill_outbox_depth", frozenset({("outbox", "notifications")}))] == 0
    for n, status in enumerate(("queued", "queued", "sent", "failed")):
        OutboxMessage.create(channel="email", address=f"a{n}@example.test", idempotency_key=f"k{n}", status=status)
    m = metrics(client)
    assert m[("lanbill_outbox_depth", frozenset({("outbox", "notifications")}))] == 2
    assert m[("lanbill_outbox_failed", frozenset({("outbox", "notifications")}))] == 1
    assert m[("lanbill_outbox_depth", frozenset({("outbox", "receipts")}))] == 0
