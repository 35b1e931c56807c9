"""RADIUS sessions and agents as staff screens read them: online sessions
with a search, a staff disconnect, the agents' published status and the
CoA/Disconnect queue (DESIGN §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import fn

from lanbill.clock import now_utc
from lanbill.errors import N_, NotFound
from lanbill.models import Account, Nas
from lanbill.models.radius import CoaRequest, RadiusAgentStatus, RadiusSession
from lanbill.network import coa
from lanbill.records import get_record
from lanbill.staff import access

# A worker row older than this no longer counts towards the live rate.
FRESH = dt.timedelta(minutes=2)


def online_sessions(search: str = "", *, page: int = 1, per_page: int = 100,
                    manager=None) -> tuple[list[RadiusSession], int]:
    """One page of open sessions, newest first, whose login or address
    contains `search`; and how many there are in all.  With `manager`, only
    the sessions of accounts the manager's groups cover (staff/access.py)."""
    query = RadiusSession.select().where(RadiusSession.stopped_at.is_null())
    if manager is not None:
        query = access.scope_sessions(query, manager)
    if search:
        query = query.where(RadiusSession.login.contains(search) | RadiusSession.framed_ip.contains(search))
    total = query.count()
    return list(query.order_by(RadiusSession.started_at.desc()).paginate(page, per_page)), total


def nas_names() -> dict[int, str]:
    """{NAS id: name} for the sessions table."""
    return {nas.id: nas.name for nas in Nas.select(Nas.id, Nas.name)}


def open_session_count(agent_id: int) -> int:
    return RadiusSession.select().where((RadiusSession.agent_id == agent_id)
                                        & RadiusSession.stopped_at.is_null()).count()


def disconnect_session(session_id, *, actor, manager=None):
    """Staff's "disconnect": queue a Disconnect-Request for an open session
    (coa.request_disconnect).  NotFound for no such session, and for a
    session of an account outside `manager`'s groups (told apart from
    nothing); a session that has already ended is refused."""
    session = get_record(RadiusSession, session_id)
    if manager is not None and not access.can_see_session(manager, session):
        raise NotFound(N_("Not found."))
    return coa.request_disconnect(session, actor=actor)


def _blank_status() -> dict:
    return {"workers": 0, "rate": 0, "counters": {}, "drops": [], "rejects": [], "last_packet_at": None,
            "coa_queue": 0, "reported": False}


def _by_reason(counters: dict, prefix: str) -> list[tuple[str, int]]:
    """[(reason, count)] of the counters named `prefix` + reason, in reason order."""
    return sorted((key[len(prefix):], value) for key, value in counters.items() if key.startswith(prefix))


def agent_status(agent_ids: Iterable[int]) -> dict[int, dict]:
    """The live status of RADIUS agents, summed over their worker rows:
    requests/s (of workers that reported lately), counters, drops and
    rejects by reason ([(reason, count)]), last packet, and the CoA queue
    (pending CoA/Disconnect requests for the agent's accounts).
    {agent id: …} for the agents that have status rows or queued requests."""
    agent_ids = list(agent_ids)
    if not agent_ids:
        return {}
    fresh = now_utc() - FRESH
    out: dict[int, dict] = {}
    for row in RadiusAgentStatus.select().where(RadiusAgentStatus.agent_id.in_(agent_ids)):
        status = out.setdefault(row.agent_id, _blank_status())
        status["reported"] = True
        for key, value in (row.counters or {}).items():
            status["counters"][key] = status["counters"].get(key, 0) + value
        if row.updated_at >= fresh:
            status["workers"] += 1
            status["rate"] += row.requests_per_second
        if row.last_packet_at and (status["last_packet_at"] is None or row.last_packet_at > status["last_packet_at"]):
            status["last_packet_at"] = row.last_packet_at
    for status in out.values():
        status["drops"] = _by_reason(status["counters"], "drop:")
        status["rejects"] = _by_reason(status["counters"], "reject:")
    queued = (CoaRequest.select(Account.agent, fn.COUNT(CoaRequest.id))
              .join(Account, on=(CoaRequest.account_id == Account.id))
              .where((CoaRequest.status == "pending") & Account.agent.in_(agent_ids))
              .group_by(Account.agent).tuples())
    for agent_id, count in queued:
        out.setdefault(agent_id, _blank_status())["coa_queue"] = count
    return out


def _scoped_requests(query, manager):
    """CoA requests about accounts `manager` may see (all without one)."""
    if manager is None:
        return query
    ids = access.visible_account_ids(manager)
    return query if ids is None else query.where(CoaRequest.account_id.in_(ids))


def coa_queue(limit: int = 100, *, manager=None) -> list[CoaRequest]:
    """Pending CoA/Disconnect requests, oldest first (with `manager`, only
    those about accounts its groups cover)."""
    query = CoaRequest.select().where(CoaRequest.status == "pending")
    return list(_scoped_requests(query, manager).order_by(CoaRequest.id).limit(limit))


def coa_refused_or_failed(limit: int = 50, *, manager=None) -> list[CoaRequest]:
    """Requests the NAS refused (NAK) or never answered, newest first (with
    `manager`, only those about accounts its groups cover)."""
    query = CoaRequest.select().where(CoaRequest.status.in_(["failed", "nak"]))
    return list(_scoped_requests(query, manager).order_by(CoaRequest.id.desc()).limit(limit))
