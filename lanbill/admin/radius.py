"""Admin screens of the RADIUS agent: online sessions with a "disconnect"
button, agent status (requests/s, accepts, rejects, drops by reason, last
packet, CoA queue) and an account's CoA/Disconnect history."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.permissions import requires
from lanbill.billing.clock import now_utc
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
    coa_request = request_disconnect(session, actor=current_user)
    from lanbill.jobs import send_radius_coa

    send_radius_coa(coa_request.id)
    flash(_("Disconnect-Request queued for %(login)s.", login=session.login), "ok")
    return redirect(url_for("admin.radius_sessions"))


@bp.route("/radius/status")
@requires("settings.edit")
def radius_status():
    """Counters the agent processes publish every few seconds."""
    fresh = now_utc() - dt.timedelta(minutes=2)
    agents = []
    for agent in Agent.select().where(Agent.type == "radius").order_by(Agent.name):
        rows = list(RadiusAgentStatus.select().where(RadiusAgentStatus.agent_id == agent.id))
        counters: dict = {}
        for row in rows:
            for key, value in (row.counters or {}).items():
                counters[key] = counters.get(key, 0) + value
        live = [r for r in rows if r.updated_at >= fresh]
        last = max((r.last_packet_at for r in rows if r.last_packet_at), default=None)
        drops = sorted((k[5:], v) for k, v in counters.items() if k.startswith("drop:"))
        rejects = sorted((k[7:], v) for k, v in counters.items() if k.startswith("reject:"))
        agents.append({
            "agent": agent, "workers": len(live), "rate": sum(r.requests_per_second for r in live),
            "counters": counters, "drops": drops, "rejects": rejects, "last_packet_at": last,
            "online": RadiusSession.select().where((RadiusSession.agent_id == agent.id)
                                                   & RadiusSession.stopped_at.is_null()).count(),
        })
    queue = list(CoaRequest.select().where(CoaRequest.status == "pending").order_by(CoaRequest.id).limit(100))
    failed = list(CoaRequest.select().where(CoaRequest.status.in_(["failed", "nak"]))
                  .order_by(CoaRequest.id.desc()).limit(50))
    return render_template("admin/radius/status.html", agents=agents, queue=queue, failed=failed)


@bp.route("/radius/accounts/<int:account_id>/coa")
@requires("subscribers.view")
def radius_account_coa(account_id):
    """The account's CoA/Disconnect history: every attempt's outcome."""
    from agents.radius.coa import history
    from lanbill.admin.permissions import ensure_visible

    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        abort(404)
    ensure_visible(current_user, account.subscriber_id)
    return render_template("admin/radius/account_coa.html", account=account, requests=history(account_id))
