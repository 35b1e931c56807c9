"""Agents (RADIUS, NetFlow/IPFIX, services) with the options of their type,
and the NAS they talk to.  The list shows each agent's live status in
brief (RADIUS: requests/s, accepts, rejects, drops by reason, last packet,
CoA queue; NetFlow: packets/s, flows/s, malformed, unknown templates, lost
flows, unmatched bytes); the RADIUS and NetFlow screens give the detail."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN, fn

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires
from lanbill.admin.radius import agent_status as radius_agent_status
from lanbill.admin.settings_forms import (
    AGENT_OPTIONS,
    AGENT_TYPE_LABELS,
    VENDOR_LABELS,
    NasForm,
    agent_form_class,
    agent_option_fields,
    agent_option_value,
    agent_options,
)
from lanbill.admin.tables import Column, Table
from lanbill.clock import now_utc
from lanbill.errors import BillingError
from lanbill.models import Account, Agent, Nas
from lanbill.models.agents import AGENT_TYPES
from lanbill.models.traffic import NetflowStatus
from lanbill.network import agents as network_agents
from lanbill.network.agent_options import option_field

# The live status of each agent type is shown by that agent's own screen.
STATUS_PAGES = {"radius": "admin.radius_status", "netflow": "admin.netflow_status"}


def _agent_columns():
    return [
        Column("id", "№", sort=Agent.id, css="num"),
        Column("name", _l("Name"), sort=Agent.name),
        Column("type", _l("Type"), sort=Agent.type, value=lambda a: AGENT_TYPE_LABELS.get(a.type, a.type)),
        Column("listen_address", _l("Listen address"), sort=Agent.listen_address),
        Column("enabled", _l("Enabled"), sort=Agent.enabled, value=lambda a: _("yes") if a.enabled else _("no")),
        Column("accounts", _l("Accounts"), sort=fn.COUNT(Account.id), css="num", value=lambda a: a.account_count),
        Column("status", _l("Status"), csv=False, value=_status_text),
    ]


# NetFlow status rows are written at every flush (a minute by default).
NETFLOW_FRESH = dt.timedelta(minutes=3)


def netflow_status(agent_ids) -> dict[int, dict]:
    """The live status of NetFlow agents, summed over their exporters'
    rows (read only: the NetFlow agent owns them)."""
    agent_ids = list(agent_ids)
    out: dict[int, dict] = {}
    if not agent_ids:
        return out
    fresh = now_utc() - NETFLOW_FRESH
    for row in NetflowStatus.select().where(NetflowStatus.agent_id.in_(agent_ids)):
        status = out.setdefault(row.agent_id, {
            "exporters": 0, "packets_per_second": 0, "flows_per_second": 0, "malformed": 0,
            "unknown_templates": 0, "lost_flows": 0, "unmatched_bytes": 0, "last_packet_at": None})
        if row.updated_at >= fresh:
            status["exporters"] += 1
            status["packets_per_second"] += row.packets_per_second
            status["flows_per_second"] += row.records_per_second
        status["malformed"] += row.malformed
        status["unknown_templates"] += row.unknown_template_sets
        status["lost_flows"] += row.lost_flows
        status["unmatched_bytes"] += row.unmatched_bytes
        if row.last_packet_at and (status["last_packet_at"] is None or row.last_packet_at > status["last_packet_at"]):
            status["last_packet_at"] = row.last_packet_at
    return out


def _status_text(agent) -> str:
    """The status cell as plain text (the template renders it richer)."""
    status = getattr(agent, "live", None)
    if not status:
        return ""
    if agent.type == "radius":
        return _("%(rate)s requests/s", rate=status["rate"])
    if agent.type == "netflow":
        return _("%(rate)s packets/s", rate=status["packets_per_second"])
    return ""


@bp.route("/agents")
@requires("settings.edit")
def agents():
    table = Table.from_request("agents", _agent_columns(), default_sort="id", tie_breaker=Agent.id,
                               manager=current_user)
    live = Account.deleted == False  # noqa: E712
    query = (Agent.select(Agent, fn.COUNT(Account.id).alias("account_count"))
             .join(Account, JOIN.LEFT_OUTER, on=((Account.agent == Agent.id) & live))
             .group_by(Agent))
    page = table.page(query)
    radius = radius_agent_status(a.id for a in page.items if a.type == "radius")
    netflow = netflow_status(a.id for a in page.items if a.type == "netflow")
    for agent in page.items:
        agent.live = radius.get(agent.id) if agent.type == "radius" else netflow.get(agent.id)
    return render_template("admin/agents/list.html", t=table, page=page, types=AGENT_TYPES,
                           type_labels=AGENT_TYPE_LABELS, status_pages=STATUS_PAGES)


def _option_aliases(agent_type: str) -> dict:
    """Each option's refusal shown under its field of the agent form."""
    return {option_field(key): "opt_" + key for key, *_rest in AGENT_OPTIONS.get(agent_type, [])}


def _initial_agent(agent):
    data = {"name": agent.name, "listen_address": agent.listen_address, "enabled": agent.enabled,
            "version": agent.version}
    for key, _label, kind, default in AGENT_OPTIONS.get(agent.type, []):
        data["opt_" + key] = agent_option_value(kind, (agent.options or {}).get(key, default))
    return data


@bp.route("/agents/new/<agent_type>", methods=["GET", "POST"])
@requires("settings.edit")
def agent_new(agent_type):
    if agent_type not in AGENT_TYPES:
        abort(404)
    form = agent_form_class(agent_type)()
    status = 200
    if form.validate_on_submit():
        data = {"name": form.name.data, "type": agent_type, "listen_address": form.listen_address.data.strip(),
                "options": agent_options(form, agent_type)}
        try:
            agent = network_agents.create_agent(data, actor=current_actor())
            if not form.enabled.data:
                network_agents.update_agent(agent.id, {"enabled": False}, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc, _option_aliases(agent_type))
            status = exc.status
        else:
            flash(_("The agent is created."), "success")
            return redirect(url_for("admin.agent_edit", agent_id=agent.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/agents/form.html", form=form, agent=None, agent_type=agent_type,
                           type_label=AGENT_TYPE_LABELS[agent_type],
                           option_fields=agent_option_fields(form, agent_type)), status


@bp.route("/agents/<int:agent_id>", methods=["GET", "POST"])
@requires("settings.edit")
def agent_edit(agent_id):
    agent = Agent.get_or_none(Agent.id == agent_id) or abort(404)
    form = agent_form_class(agent.type)(data=_initial_agent(agent) if request.method == "GET" else None)
    status = 200
    if request.method == "POST" and request.form.get("delete"):
        try:
            network_agents.delete_agent(agent.id, actor=current_actor())
        except BillingError as exc:
            flash(_(exc.message), "error")
            return redirect(url_for("admin.agent_edit", agent_id=agent.id))
        flash(_("The agent is deleted."), "success")
        return redirect(url_for("admin.agents"))
    if form.validate_on_submit():
        data = {"name": form.name.data, "listen_address": form.listen_address.data, "enabled": form.enabled.data,
                "options": agent_options(form, agent.type, agent.options)}
        try:
            network_agents.update_agent(agent.id, data, actor=current_actor(), version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc, _option_aliases(agent.type))
            status = exc.status
        else:
            flash(_("The agent is saved."), "success")
            return redirect(url_for("admin.agent_edit", agent_id=agent.id))
    elif request.method == "POST":
        status = 422
    nas_rows = list(Nas.select().where(Nas.agent == agent.id).order_by(Nas.name))
    accounts = Account.select().where((Account.agent == agent.id) & (Account.deleted == False)).count()  # noqa: E712
    status_url = None
    endpoint = STATUS_PAGES.get(agent.type)
    if endpoint in current_app.view_functions:
        status_url = url_for(endpoint)
    return render_template("admin/agents/form.html", form=form, agent=agent, agent_type=agent.type,
                           type_label=AGENT_TYPE_LABELS.get(agent.type, agent.type), nas_rows=nas_rows,
                           nas_warnings={n.id: network_agents.nas_warnings(n) for n in nas_rows},
                           status_url=status_url,
                           accounts=accounts, option_fields=agent_option_fields(form, agent.type)), status


# --- NAS ------------------------------------------------------------------------------


def _nas_columns():
    return [
        Column("name", _l("Name"), sort=Nas.name),
        Column("ip", _l("IP address"), sort=Nas.ip),
        Column("vendor", _l("Vendor"), sort=Nas.vendor, value=lambda n: VENDOR_LABELS.get(n.vendor, n.vendor)),
        Column("coa_port", _l("CoA port"), sort=Nas.coa_port, css="num"),
        Column("agent", _l("Agent"), sort=Agent.name, value=lambda n: n.agent.name if n.agent_id else "—"),
        Column("message_authenticator", _l("Message-Authenticator"), sort=Nas.require_message_authenticator,
               value=_message_authenticator_text),
    ]


def _message_authenticator_text(nas) -> str:
    """"required", or the warning that it is not (BlastRADIUS)."""
    warnings = network_agents.nas_warnings(nas)
    return " ".join(_(message) for message in warnings) if warnings else _("required")


def _flash_nas_warnings(nas) -> None:
    for message in network_agents.nas_warnings(nas):
        flash(_(message), "warning")


@bp.route("/nas")
@requires("settings.edit")
def nas_list():
    table = Table.from_request("nas", _nas_columns(), default_sort="name", tie_breaker=Nas.id, manager=current_user)
    query = Nas.select(Nas, Agent).join(Agent, JOIN.LEFT_OUTER)
    page = table.page(query)
    return render_template("admin/nas/list.html", t=table, page=page)


def _agent_choices(form):
    form.agent_id.choices = [(0, "—")] + [(a.id, f"{a.name} ({a.type})") for a in Agent.select().order_by(Agent.name)]


def _nas_data(form, *, creating: bool) -> dict:
    data = {"name": form.name.data, "ip": (form.ip.data or "").strip(), "vendor": form.vendor.data,
            "coa_port": form.coa_port.data, "agent_id": form.agent_id.data or None,
            "require_message_authenticator": form.require_message_authenticator.data}
    if creating or form.secret.data:
        data["secret"] = form.secret.data or ""
    return data


@bp.route("/nas/new", methods=["GET", "POST"])
@requires("settings.edit")
def nas_new():
    form = NasForm()
    _agent_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            nas = network_agents.create_nas(_nas_data(form, creating=True), actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The NAS is added."), "success")
            return redirect(url_for("admin.nas_edit", nas_id=nas.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/nas/form.html", form=form, nas=None), status


@bp.route("/nas/<int:nas_id>", methods=["GET", "POST"])
@requires("settings.edit")
def nas_edit(nas_id):
    nas = Nas.get_or_none(Nas.id == nas_id) or abort(404)
    initial = None
    if request.method == "GET":
        initial = {"name": nas.name, "ip": nas.ip, "vendor": nas.vendor, "coa_port": nas.coa_port,
                   "agent_id": nas.agent_id or 0, "require_message_authenticator": nas.require_message_authenticator,
                   "version": nas.version}
        _flash_nas_warnings(nas)
    form = NasForm(data=initial)
    _agent_choices(form)
    status = 200
    if request.method == "POST" and request.form.get("delete"):
        network_agents.delete_nas(nas.id, actor=current_actor())
        flash(_("The NAS is deleted."), "success")
        return redirect(url_for("admin.nas_list"))
    if form.validate_on_submit():
        try:
            network_agents.update_nas(nas.id, _nas_data(form, creating=False), actor=current_actor(),
                                version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The NAS is saved."), "success")
            return redirect(url_for("admin.nas_edit", nas_id=nas.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/nas/form.html", form=form, nas=nas), status
