"""Admin screens of the RADIUS agent: online sessions with a "disconnect"
button, agent status (requests/s, accepts, rejects, drops by reason, last
packet, CoA queue) and an account's CoA/Disconnect history."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.common import current_actor, ensure_visible, requires
from lanbill.admin.tables import parse_page
from lanbill.clock import now_utc
from lanbill.config import radius_coa_settings
from lanbill.errors import NotFound, ValidationError
from lanbill.jobs import send_radius_coa
from lanbill.models import Account, Agent
from lanbill.network import coa, radius_sessions

PAGE = 100


@bp.route("/radius/sessions", endpoint="radius_sessions")
@requires("subscribers.view")
def online_sessions():
    search = (request.args.get("q") or "").strip()
    page = parse_page(request.args.get("page"))
    sessions, total = radius_sessions.online_sessions(search, page=page, per_page=PAGE, manager=current_user)
    return render_template("admin/radius/sessions.html", sessions=sessions, total=total, page=page,
                           pages=(total + PAGE - 1) // PAGE, search=search,
                           nas_names=radius_sessions.nas_names(), now=now_utc())


@bp.route("/radius/sessions/<int:session_id>/disconnect", methods=["POST"])
@requires("subscribers.edit")
def radius_session_disconnect(session_id):
    try:
        coa_request = radius_sessions.disconnect_session(session_id, actor=current_actor(), manager=current_user)
    except NotFound:
        abort(404)
    except ValidationError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("admin.radius_sessions"))
    send_radius_coa(coa_request.id, radius_coa_settings(current_app.config))
    flash(_("Disconnect-Request queued for %(login)s.", login=coa_request.attributes["User-Name"]), "ok")
    return redirect(url_for("admin.radius_sessions"))


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
    "stale_event": _l("accounting replay: time stamp far from now"),
    "counters_backwards": _l("accounting replay: counters went backwards"),
    "bad_record": _l("accounting record the database refused"),
}
REJECT_LABELS = {
    "unknown_login": _l("unknown login"),
    "wrong_password": _l("wrong password"),
    "blocked": _l("blocked"),
    "too_many_sessions": _l("too many sessions"),
    "off": _l("account off"),
    "no_password": _l("no password given"),
    "no_service_password": _l("the account has no password"),
    "mschap1_disabled": _l("MS-CHAPv1 not allowed"),
}


def _labelled(by_reason: list, labels: dict) -> list:
    """[(label, count)] of [(reason, count)], reasons as staff read them."""
    return [(labels.get(reason, reason), count) for reason, count in by_reason]


def agent_status(agent_ids) -> dict[int, dict]:
    """radius_sessions.agent_status with the drop and reject reasons in
    the staff's language."""
    statuses = radius_sessions.agent_status(agent_ids)
    for status in statuses.values():
        status["drops"] = _labelled(status["drops"], DROP_LABELS)
        status["rejects"] = _labelled(status["rejects"], REJECT_LABELS)
    return statuses


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
        agents.append(dict(status, agent=agent, online=radius_sessions.open_session_count(agent.id)))
    return render_template("admin/radius/status.html", agents=agents,
                           queue=radius_sessions.coa_queue(manager=current_user),
                           failed=radius_sessions.coa_refused_or_failed(manager=current_user))


@bp.route("/radius/accounts/<int:account_id>/coa")
@requires("subscribers.view")
def radius_account_coa(account_id):
    """The account's CoA/Disconnect history: every attempt's outcome."""
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        abort(404)
    ensure_visible(account.subscriber_id)
    return render_template("admin/radius/account_coa.html", account=account, requests=coa.history(account_id))
