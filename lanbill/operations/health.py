"""Health of a running system for /healthz (DESIGN §14): the database, the
worker's heartbeat, each enabled agent's status rows, the last billing day
and the last backup.  "down" anywhere makes the whole answer down (503).

Rules (written down here since DESIGN is silent):
- the worker beats every minute; silent for WORKER_STALE it is down;
- a RADIUS agent publishes its counters every 5 s, a NetFlow agent with
  every flush (60 s); an enabled agent without a fresh row is down;
- billing is down when the last finished billing day is older than
  yesterday (the run every five minutes bills each day as it starts);
- the backup is down when the last one is older than BACKUP_MAX_AGE_HOURS;
  a system that has never made one (a fresh install) reports "unknown";
- 54-FZ receipts are down while one has failed for good or one is not done
  RECEIPTS_LATE_MINUTES after it was queued (lanbill.paysys.receipts).
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import peewee

from lanbill.clock import now_utc, today
from lanbill.db import database, transaction
from lanbill.models import Agent, Setting
from lanbill.models.billing import BillingDay
from lanbill.models.radius import RadiusAgentStatus
from lanbill.models.traffic import NetflowAgentStatus
from lanbill.operations.backup import last_backup
from lanbill.paysys.receipts import health_check as receipts_health

WORKER_HEARTBEAT = "heartbeat.worker"
WORKER_STALE = dt.timedelta(minutes=3)
AGENT_STALE = {"radius": dt.timedelta(minutes=2), "usbox": dt.timedelta(minutes=2),
               "netflow": dt.timedelta(minutes=3)}


def beat(name: str = WORKER_HEARTBEAT, at: dt.datetime | None = None) -> None:
    """Record that a process is alive (the worker, every minute)."""
    value = (at or now_utc()).isoformat(timespec="seconds")
    with transaction():
        if not Setting.update(value=value).where(Setting.key == name).execute():
            Setting.create(key=name, value=value)


def _age(at: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if at is None else round((now - at).total_seconds(), 1)


def worker_heartbeat() -> dt.datetime | None:
    row = Setting.get_or_none(Setting.key == WORKER_HEARTBEAT)
    return dt.datetime.fromisoformat(row.value) if row and row.value else None


def agent_heartbeats() -> list[dict]:
    """[{id, name, type, last_seen}] of every enabled agent: the newest
    status row any of its processes wrote."""
    radius = dict(RadiusAgentStatus.select(RadiusAgentStatus.agent_id, peewee.fn.MAX(RadiusAgentStatus.updated_at))
                  .group_by(RadiusAgentStatus.agent_id).tuples())
    netflow = dict(NetflowAgentStatus.select(NetflowAgentStatus.agent_id, NetflowAgentStatus.updated_at).tuples())
    out = []
    for agent in Agent.select().where(Agent.enabled == True).order_by(Agent.id):  # noqa: E712
        seen = (netflow if agent.type == "netflow" else radius).get(agent.id)
        if isinstance(seen, str):  # SQLite's MAX() of a datetime column is text
            seen = dt.datetime.fromisoformat(seen)
        out.append({"id": agent.id, "name": agent.name, "type": agent.type, "last_seen": seen})
    return out


def last_billing_day() -> BillingDay | None:
    return (BillingDay.select().where(BillingDay.finished_at.is_null(False))
            .order_by(BillingDay.day.desc()).first())


def check_health(config: dict, now: dt.datetime | None = None) -> dict:
    """{"status": "ok"|"down", "checks": {name: {"status", …}}}."""
    now = now or now_utc()
    checks: dict[str, dict] = {}
    try:
        database.execute_sql("SELECT 1").fetchone()
        checks["database"] = {"status": "ok"}
    except peewee.PeeweeException as exc:
        checks["database"] = {"status": "down", "error": type(exc).__name__}
        return {"status": "down", "checks": checks}

    beat_at = worker_heartbeat()
    checks["worker"] = {"status": "ok" if beat_at and now - beat_at < WORKER_STALE else "down",
                        "last_heartbeat": _iso(beat_at), "age_seconds": _age(beat_at, now)}

    for agent in agent_heartbeats():
        stale = AGENT_STALE.get(agent["type"], dt.timedelta(minutes=3))
        seen = agent["last_seen"]
        checks[f"agent:{agent['name']}"] = {
            "status": "ok" if seen and now - seen < stale else "down", "type": agent["type"],
            "last_heartbeat": _iso(seen), "age_seconds": _age(seen, now)}

    day = last_billing_day()
    if day is None:
        checks["billing"] = {"status": "unknown", "last_day": None}
    else:
        checks["billing"] = {
            "status": "ok" if day.day >= today() - dt.timedelta(days=1) else "down",
            "last_day": day.day.isoformat(), "finished_at": _iso(day.finished_at),
            "duration_seconds": round((day.finished_at - day.started_at).total_seconds(), 3),
            "accounts": day.accounts, "entries": day.entries}

    found = last_backup()
    if found is None:
        checks["backup"] = {"status": "unknown", "last_backup": None}
    else:
        limit = dt.timedelta(hours=int(config.get("BACKUP_MAX_AGE_HOURS") or 36))
        checks["backup"] = {"status": "ok" if now - found["at"] < limit else "down",
                            "last_backup": _iso(found["at"]), "age_seconds": _age(found["at"], now),
                            "bytes": found["bytes"]}
    # 54-FZ receipts: failed for good, or late (RECEIPTS_LATE_MINUTES, 60)
    checks["receipts"] = receipts_health(now, config.get("RECEIPTS_LATE_MINUTES"))
    status = "down" if any(c["status"] == "down" for c in checks.values()) else "ok"
    return {"status": status, "checks": checks}


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") + "Z" if at else None


def address_allowed(address: str | None, allowed) -> bool:
    """Is the client `address` in MONITORING_ALLOWED (a list of addresses or
    networks, or one comma-separated string from the environment)?"""
    if not address:
        return False
    if isinstance(allowed, str):
        allowed = [part for part in allowed.replace(";", ",").split(",") if part.strip()]
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped:
        client = client.ipv4_mapped
    for entry in allowed or ():
        try:
            if client in ipaddress.ip_network(str(entry).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False

