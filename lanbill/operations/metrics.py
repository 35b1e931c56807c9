"""/metrics in the Prometheus text format (DESIGN §14), read from the
database at each scrape: the agents' published counters, CoA outcomes, the
outbox, billing runs, payments per system, worker and backup ages.

Every figure comes from rows several processes write (agents on other
hosts included), so one scrape of the web process sees the whole system.
The RADIUS reply latency histogram comes the same way: each agent worker
counts replies into fixed buckets ("latency:<kind>:<upper bound>", not
cumulative, plus "latency_sum_us:<kind>") with its other counters, and the
scrape sums the workers and makes the buckets cumulative.  Amounts of money
are not exported (a float near money); payments are counted.
"""

from __future__ import annotations

import datetime as dt

import peewee
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from lanbill.clock import now_utc
from lanbill.models import Agent, OutboxMessage, Payment
from lanbill.models.paysys import PaymentSystem
from lanbill.models.radius import CoaRequest, RadiusAgentStatus
from lanbill.models.receipts import FiscalReceipt
from lanbill.models.traffic import NetflowAgentStatus, NetflowStatus
from lanbill.operations.backup import last_backup
from lanbill.operations.health import check_health, last_billing_day, worker_heartbeat

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# NetflowStatus columns that count what was lost or refused, by reason.
NETFLOW_DROPS = ("malformed", "unknown_template_sets", "dropped_sets", "lost_flows", "lost_packets",
                 "unmatched_records", "bad_records", "dropped_templates", "dropped_domains")
RADIUS_REPLIES = {"accepts": "accept", "rejects": "reject", "redirects": "redirect"}


def _radius(names: dict[int, str]):
    requests = CounterMetricFamily("lanbill_radius_requests", "RADIUS requests received",
                                   labels=["agent", "kind"])
    replies = CounterMetricFamily("lanbill_radius_replies", "RADIUS Access replies sent", labels=["agent", "reply"])
    drops = CounterMetricFamily("lanbill_radius_drops", "RADIUS packets dropped, by reason",
                                labels=["agent", "reason"])
    rejects = CounterMetricFamily("lanbill_radius_rejects_by_reason", "Access-Rejects, by reason",
                                  labels=["agent", "reason"])
    summed: dict[int, dict[str, int]] = {}
    for row in RadiusAgentStatus.select():
        target = summed.setdefault(row.agent_id, {})
        for key, value in (row.counters or {}).items():
            target[key] = target.get(key, 0) + int(value)
    latency = HistogramMetricFamily("lanbill_radius_reply_latency_seconds",
                                    "Time from a RADIUS request's arrival to its reply (accounting: once stored)",
                                    labels=["agent", "kind"])
    for agent_id, counters in sorted(summed.items()):
        agent = names.get(agent_id, str(agent_id))
        for kind in ("auth", "acct"):
            buckets = _latency_buckets(counters, kind)
            if buckets:
                latency.add_metric([agent, kind], buckets,
                                   sum_value=counters.get("latency_sum_us:" + kind, 0) / 1_000_000)
        requests.add_metric([agent, "auth"], counters.get("auth_requests", 0))
        requests.add_metric([agent, "acct"], counters.get("acct_requests", 0))
        for key, reply in RADIUS_REPLIES.items():
            replies.add_metric([agent, reply], counters.get(key, 0))
        for key, value in sorted(counters.items()):
            if key.startswith("drop:"):
                drops.add_metric([agent, key[5:]], value)
            elif key.startswith("reject:"):
                rejects.add_metric([agent, key[7:]], value)
    return [requests, replies, drops, rejects, latency]


def _latency_buckets(counters: dict, kind: str) -> list[tuple[str, int]]:
    """[(le, cumulative count)] from the per-bucket counters of `kind`,
    ending with +Inf; [] when the agent published none."""
    prefix = f"latency:{kind}:"
    per_bound = []
    for key, value in counters.items():
        if key.startswith(prefix):
            bound = key[len(prefix):]
            try:
                per_bound.append((float(bound), bound, int(value)))
            except ValueError:
                continue
    if not per_bound:
        return []
    per_bound.sort()
    out, total = [], 0
    for bound, text, value in per_bound:
        total += value
        out.append(("+Inf" if bound == float("inf") else text, total))
    if out[-1][0] != "+Inf":
        out.append(("+Inf", total))
    return out


def _netflow(names: dict[int, str]):
    records = CounterMetricFamily("lanbill_netflow_records", "NetFlow/IPFIX flow records received",
                                  labels=["agent", "exporter"])
    packets = CounterMetricFamily("lanbill_netflow_packets", "NetFlow/IPFIX datagrams received",
                                  labels=["agent", "exporter"])
    drops = CounterMetricFamily("lanbill_netflow_drops", "NetFlow records, sets or datagrams lost or dropped",
                                labels=["agent", "exporter", "reason"])
    for row in NetflowStatus.select().order_by(NetflowStatus.agent_id, NetflowStatus.exporter):
        agent = names.get(row.agent_id, str(row.agent_id))
        records.add_metric([agent, row.exporter], row.records)
        packets.add_metric([agent, row.exporter], row.packets)
        for reason in NETFLOW_DROPS:
            drops.add_metric([agent, row.exporter, reason], getattr(row, reason))
    for row in NetflowAgentStatus.select().order_by(NetflowAgentStatus.agent_id):
        agent = names.get(row.agent_id, str(row.agent_id))
        drops.add_metric([agent, "", "unknown_exporter"], row.unknown_exporter)
        drops.add_metric([agent, "", "dropped_exporters"], row.dropped_exporters)
    return [records, packets, drops]


def _coa():
    family = GaugeMetricFamily("lanbill_coa_requests", "CoA/Disconnect requests by kind and outcome",
                               labels=["kind", "status"])
    rows = (CoaRequest.select(CoaRequest.kind, CoaRequest.status, peewee.fn.COUNT(CoaRequest.id))
            .group_by(CoaRequest.kind, CoaRequest.status).tuples())
    for kind, status, count in sorted(rows):
        family.add_metric([kind, status], count)
    return [family]


def _outbox():
    """Messages waiting to go out: notifications queued in the outbox and
    54-FZ receipts pending, by outbox; the failed ones apart."""
    depth = GaugeMetricFamily("lanbill_outbox_depth", "Messages waiting in an outbox", labels=["outbox"])
    failed = GaugeMetricFamily("lanbill_outbox_failed", "Messages an outbox gave up on", labels=["outbox"])
    for name, model, waiting in (("notifications", OutboxMessage, "queued"), ("receipts", FiscalReceipt, "pending")):
        counts = dict(model.select(model.status, peewee.fn.COUNT(model.id)).group_by(model.status).tuples())
        depth.add_metric([name], counts.get(waiting, 0))
        failed.add_metric([name], counts.get("failed", 0))
    return [depth, failed]


def _billing():
    out = []
    day = last_billing_day()
    if day is not None:
        duration = GaugeMetricFamily("lanbill_billing_run_duration_seconds",
                                     "Duration of the last finished billing day's run")
        duration.add_metric([], (day.finished_at - day.started_at).total_seconds())
        finished = GaugeMetricFamily("lanbill_billing_last_finished_timestamp_seconds",
                                     "When the last billing day finished (Unix time)")
        finished.add_metric([], day.finished_at.replace(tzinfo=dt.UTC).timestamp())
        entries = GaugeMetricFamily("lanbill_billing_last_run_entries", "Ledger entries of the last billing day")
        entries.add_metric([], day.entries)
        out += [duration, finished, entries]
    return out


def _payments():
    family = CounterMetricFamily("lanbill_payments", "Payments booked, by payment system (or method)",
                                 labels=["system"])
    systems = dict(PaymentSystem.select(PaymentSystem.id, PaymentSystem.code).tuples())
    rows = (Payment.select(Payment.payment_system_id, Payment.gateway, Payment.method, peewee.fn.COUNT(Payment.id))
            .group_by(Payment.payment_system_id, Payment.gateway, Payment.method).tuples())
    totals: dict[str, int] = {}
    for system_id, gateway, method, count in rows:
        name = systems.get(system_id) or gateway or method
        totals[name] = totals.get(name, 0) + count
    for name, count in sorted(totals.items()):
        family.add_metric([name], count)
    return [family]


def _ages(config: dict):
    now = now_utc()
    out = []
    beat = worker_heartbeat()
    if beat is not None:
        family = GaugeMetricFamily("lanbill_worker_heartbeat_age_seconds", "Seconds since the worker's heartbeat")
        family.add_metric([], (now - beat).total_seconds())
        out.append(family)
    found = last_backup()
    if found is not None:
        age = GaugeMetricFamily("lanbill_backup_age_seconds", "Seconds since the last backup")
        age.add_metric([], (now - found["at"]).total_seconds())
        size = GaugeMetricFamily("lanbill_backup_size_bytes", "Size of the last backup archive")
        size.add_metric([], found["bytes"])
        out += [age, size]
    up = GaugeMetricFamily("lanbill_check_up", "1 when a /healthz check is not down", labels=["check"])
    for name, check in sorted(check_health(config, now)["checks"].items()):
        up.add_metric([name], 0 if check["status"] == "down" else 1)
    out.append(up)
    return out


class _Collector:
    def __init__(self, config: dict):
        self.config = config

    def collect(self):
        names = dict(Agent.select(Agent.id, Agent.name).tuples())
        yield from _radius(names)
        yield from _netflow(names)
        yield from _coa()
        yield from _outbox()
        yield from _billing()
        yield from _payments()
        yield from _ages(self.config)


def render_metrics(config: dict) -> bytes:
    """The whole exposition, read from the database now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(config))
    return generate_latest(registry)
