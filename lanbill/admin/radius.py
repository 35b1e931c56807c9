"""Admin screens of the RADIUS agent: online sessions with a "disconnect"
button, agent status (requests/s, accepts, rejects, drops by reason, last
packet, CoA queue) and an account's CoA/Disconnect history."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import fn

from lanbill.admin import bp
from lanbill.admin.common import current_actor, ensure_visible, requires
from lanbill.clock import now_utc
from lanbill.models import Account, Agent, Nas
from lanbill.models.radius import CoaRequest, RadiusAgentStatus, RadiusSession

PAGE = 100


@bp.route("/radius/sessions")
@requires("subscribers.view")
def radius_sessions():
    query = RadiusSession.select().where(RadiusSession.stopped_at.is_null())
    search = (request.args.get("q") or "").strip()
    if search:
        query = query.where(RadiusSession.login.contains(search) | RadiusSession.framed_ip.contains(search))
    page = max(1, request.args.get("page", 1, type=int))
    total = query.count()
    sessions = list(query.order_by(RadiusSession.started_at.desc()).paginate(page, PAGE))
    nas_names = {n.id: n.name for n in Nas.select(Nas.id, Nas.name)}
    return render_template("admin/radius/sessions.html", sessions=sessions, total=total, page=page,
                           pages=(total + PAGE - 1) // PAGE, search=search, nas_names=nas_names, now=now_utc())


@bp.route("/radius/sessions/<int:session_id>/disconnect", methods=["POST"])
@requires("subscribers.edit")
def radius_session_disconnect(session_id):
    from agents.radius.coa import request_disconnect

    session = RadiusSession.get_or_none(RadiusSession.id == session_id)
    if session is None:
        abort(404)
    if session.stopped_at is not None:
        flash(_("The session has already ended."), "error")
        return redirect(url_for("admin.radius_sessions"))
    coa_request = request_disconnect(session, actor=current_actor())
    from lanbill.jobs import send_radius_coa

    send_radius_coa(coa_request.id)
    flash(_("Disconnect-Request queued for %(login)s.", login=session.login), "ok")
    return redirect(url_for("admin.radius_sessions"))


# A worker row older than this no longer counts towards the live rate.
FRESH = dt.timedelta(minutes=2)


# What the agent counts by its internal names, as staff read them.
DROP_LABELS = {
    "unknown_nas": _l("unknown NAS"),
    "bad_authenticator": _l("wrong secret or authenticator"),
    "missing_message_authenticator": _l("no Message-Authenticator"),
    "truncated": _l("truncated packet"),
    "bad_length": _l("wrong length field"),
    "bad_attribute": _l("malformed attribute"),
    "bad_code": _l("unexpected packet code"),
    "no_session_id": _l("no Acct-Session-Id"),
    "socket_error": _l("socket error"),
    "internal_error": _l("internal error"),
}
REJECT_LABELS = {
    "unknown_login": _l("unknown login"),
    "wrong_password": _l("wrong password"),
    "blocked": _l("blocked"),
    "too_many_sessions": _l("too many sessions"),
    "off": _l("account off"),
    "no_password": _l("no password given"),
}


def _labelled(counters: dict, prefix: str, labels: dict) -> list:
    """[(label, count)] of the counters named `prefix` + reason, in reason order."""
    found = sorted((k[len(prefix):], v) for k, v in counters.items() if k.startswith(prefix))
    return [(labels.get(reason, reason), count) for reason, count in found]


def agent_status(agent_ids) -> dict[int, dict]:
    """The live status of RADIUS agents, summed over their worker rows:
    requests/s (of workers that reported lately), counters, drops and
    rejects by reason, last packet, and the CoA queue (pending
    CoA/Disconnect requests for the agent's accounts).  {agent id: …} for
    the agents that have status rows or queued requests."""
    agent_ids = list(agent_ids)
    if not agent_ids:
        return {}
    fresh = now_utc() - FRESH
    out: dict[int, dict] = {}

    def blank():
        return {"workers": 0, "rate": 0, "counters": {}, "drops": [], "rejects": [], "last_packet_at": None,
                "coa_queue": 0, "reported": False}

    for row in RadiusAgentStatus.select().where(RadiusAgentStatus.agent_id.in_(agent_ids)):
        status = out.setdefault(row.agent_id, blank())
        status["reported"] = True
        for key, value in (row.counters or {}).items():
            status["counters"][key] = status["counters"].get(key, 0) + value
        if row.updated_at >= fresh:
            status["workers"] += 1
            status["rate"] += row.requests_per_second
        if row.last_packet_at and (status["last_packet_at"] is None or row.last_packet_at > status["last_packet_at"]):
            status["last_packet_at"] = row.last_packet_at
    for status in out.values():
        counters = status["counters"]
        status["drops"] = _labelled(counters, "drop:", DROP_LABELS)
        status["rejects"] = _labelled(counters, "reject:", REJECT_LABELS)
    queued = (CoaRequest.select(Account.agent, fn.COUNT(CoaRequest.id))
              .join(Account, on=(CoaRequest.account_id == Account.id))
              .where((CoaRequest.status == "pending") & Account.agent.in_(agent_ids))
              .group_by(Account.agent).tuples())
    for agent_id, count in queued:
        out.setdefault(agent_id, blank())["coa_queue"] = count
    return out


@bp.route("/radius/status")
@requires("settings.edit")
def radius_status():
    """Counters the agent processes publish every few seconds."""
    agents = []
    radius_agents = list(Agent.select().where(Agent.type == "radius").order_by(Agent.name))
    statuses = agent_status(a.id for a in radius_agents)
    for agent in radius_agents:
        status = statuses.get(agent.id) or {"workers": 0, "rate": 0, "counters": {}, "drops": [], "rejects": [],
                                            "last_packet_at": None, "coa_queue": 0}
        agents.append(dict(status, agent=agent, online=RadiusSession.select().where(
            (RadiusSession.agent_id == agent.id) & RadiusSession.stopped_at.is_null()).count()))
    queue = list(CoaRequest.select().where(CoaRequest.status == "pending").order_by(CoaRequest.id).limit(100))
    failed = list(CoaRequest.select().where(CoaRequest.status.in_(["failed", "nak"]))
                  .order_by(CoaRequest.id.desc()).limit(50))
    return render_template("admin/radius/status.html", agents=agents, queue=queue, failed=failed)


@bp.route("/radius/accounts/<int:account_id>/coa")
@requires("subscribers.view")
def radius_account_coa(account_id):
    """The account's CoA/Disconnect history: every attempt's outcome."""
    from agents.radius.coa import history

    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        abort(404)
    ensure_visible(account.subscriber_id)
    return render_template("admin/radius/account_coa.html", account=account, requests=history(account_id))
