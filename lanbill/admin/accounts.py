"""Accounts: the list by agent, state and tariff with the seed's search, the
account form (seed 002 «Учетные записи»), block/unblock by staff with a
reason, the state history, the tariff schedule and the account's charges."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.agreements import KIND_LABELS
from lanbill.admin.common import (
    apply_errors,
    current_actor,
    requires,
    translate_error,
    visible_account,
    visible_subscriber,
)
from lanbill.admin.forms import AccountForm, BlockForm, PlanTariffForm
from lanbill.admin.search import ACCOUNT_CRITERIA
from lanbill.admin.services import account_services_panel
from lanbill.admin.sources import describe_state_changes
from lanbill.admin.subscribers import STATE_FILTER_LABELS
from lanbill.admin.tables import Column, Table, wants_csv
from lanbill.billing import blocks, tariff_schedule
from lanbill.clock import today
from lanbill.customers import accounts
from lanbill.customers.search import account_condition, ensure_index, subscriber_condition
from lanbill.errors import BillingError, Conflict
from lanbill.models import (
    Account,
    AccountIp,
    AccountStateChange,
    Agent,
    Agreement,
    Currency,
    LedgerEntry,
    Subscriber,
    Tariff,
    TariffChange,
)
from lanbill.models.accounts import STATES
from lanbill.network import ip_pools
from lanbill.staff.access import scope


def _ips_text(row) -> str:
    return ", ".join(getattr(row, "ip_list", []))


ACCOUNT_COLUMNS = [
    Column("id", "ID", sort=Account.id, css="num", visible=False),
    Column("login", _l("Login"), sort=Account.login),
    Column("subscriber", _l("Subscriber"), sort=Subscriber.name, value=lambda r: r.subscriber.name),
    Column("agreement", _l("Agreement"), sort=Agreement.number, value=lambda r: r.agreement.number),
    Column("agent", _l("Agent"), sort=Agent.name, value=lambda r: r.agent.name),
    Column("tariff", _l("Tariff"), sort=Tariff.name, value=lambda r: r.tariff.name),
    Column("ips", _l("IP"), value=_ips_text),
    Column("state", _l("State"), sort=Account.state, value=lambda r: r.state),
    Column("state_date", _l("Date"), sort=Account.state_changed_at, value=lambda r: r.state_changed_at),
    Column("balance", _l("Balance"), sort=Agreement.balance, value=lambda r: r.agreement.balance, css="num"),
    Column("connect_date", _l("Connect date"), sort=Account.connect_date, visible=False),
    Column("description", _l("Description"), visible=False),
]


def _prefetch_ips(rows) -> None:
    found: dict[int, list[str]] = {}
    ids = [r.id for r in rows]
    if ids:
        for ip in AccountIp.select(AccountIp.account, AccountIp.network).where(AccountIp.account.in_(ids)):
            found.setdefault(ip.account_id, []).append(ip.network)
    for row in rows:
        row.ip_list = found.get(row.id, [])


def account_query(args, *, manager):
    """Accounts joined to their subscriber, agreement, agent and tariff (one
    query per page), filtered and scoped to the manager's groups."""
    # Only the listed columns: the service password and the subscriber's
    # passport are encrypted, and decrypting them per row costs more than the query.
    account_fields = [f for f in Account._meta.sorted_fields if f.name != "password"]
    query = (
        Account.select(*account_fields, Subscriber.id, Subscriber.name, Agreement.id, Agreement.number,
                       Agreement.balance, Agreement.currency, Currency.id, Currency.symbol, Agent.id, Agent.name,
                       Tariff.id, Tariff.name)
        .join(Subscriber, on=(Account.subscriber == Subscriber.id))
        .switch(Account).join(Agreement, on=(Account.agreement == Agreement.id))
        .join(Currency, on=(Agreement.currency == Currency.id))
        .switch(Account).join(Agent, on=(Account.agent == Agent.id))
        .switch(Account).join(Tariff, on=(Account.tariff == Tariff.id))
    )
    if args.get("deleted") == "1":
        query = query.where(Account.deleted == True)  # noqa: E712
    else:
        query = query.where(Account.deleted == False)  # noqa: E712
    for key, column in (("agent", Account.agent), ("tariff", Account.tariff)):
        if args.get(key, "").isdigit():
            query = query.where(column == int(args[key]))
    state = args.get("state", "")
    if state in STATES:
        query = query.where(Account.state == state)
    elif state == "blocked":
        query = query.where(Account.state.in_(("balance", "admin", "traffic", "user")))
    condition = account_condition(args.get("by", "any"), args.get("q", ""))
    if condition is not None:
        ensure_index()
        query = query.where(condition)
    return scope(query, manager, Account.subscriber)


@bp.route("/accounts")
@requires("subscribers.view")
def accounts_list():
    table = Table.from_request("accounts", ACCOUNT_COLUMNS, default_sort="login", manager=current_user,
                               tie_breaker=Account.id)
    query = account_query(request.args, manager=current_user)
    if wants_csv():
        return table.csv(query, "accounts.csv", prepare=_prefetch_ips)
    page = table.page(query)
    _prefetch_ips(page.items)
    return render_template(
        "admin/accounts/list.html", table=table, page=page, criteria=ACCOUNT_CRITERIA,
        agents=list(Agent.select().order_by(Agent.name)), tariffs=list(Tariff.select().order_by(Tariff.name)),
        states=STATE_FILTER_LABELS,
    )


# --- the form --------------------------------------------------------------------------

CHOOSE = (0, _l("— choose —"))


def _choices(form, subscriber, account=None) -> None:
    """The form's lists.  A new account starts with no agent and no tariff
    chosen: staff pick both (a default would quietly give a subscriber the
    first tariff in the list)."""
    form.agreement_id.choices = [(a.id, a.number) for a in
                                 Agreement.select().where(Agreement.subscriber == subscriber.id).order_by(Agreement.id)]
    form.agent_id.choices = [(a.id, f"{a.name} ({a.type})") for a in Agent.select().order_by(Agent.name)]
    tariffs = Tariff.select().where(Tariff.archived == False)  # noqa: E712
    if account is not None:
        tariffs = Tariff.select().where((Tariff.archived == False) | (Tariff.id == account.tariff_id))  # noqa: E712
    form.tariff_id.choices = [(t.id, t.name) for t in tariffs.order_by(Tariff.name)]
    if account is None:
        form.agent_id.choices.insert(0, CHOOSE)
        form.tariff_id.choices.insert(0, CHOOSE)


def _chosen(form) -> bool:
    """Whether staff chose an agent and a tariff for a new account."""
    ok = True
    for field, message in ((form.agent_id, _("Choose an agent.")), (form.tariff_id, _("Choose a tariff."))):
        if not field.data:
            field.errors = list(field.errors) + [message]
            ok = False
    return ok


@bp.route("/accounts/next-free-ip")
@requires("subscribers.edit")
def next_free_ip():
    """The next free static IP of an agent's pools, for the account form's
    button (JSON: {"ip": …} or {"ip": null, "message": …})."""
    agent = Agent.get_or_none(Agent.id == request.args.get("agent", type=int) or 0)
    if agent is None:
        return jsonify(ip=None, message=_("Choose an agent first.")), 200
    if not ip_pools.agent_pools(agent):
        return jsonify(ip=None, message=_("The agent has no address pools: add them on the agent's page.")), 200
    ip = ip_pools.next_free_ip(agent)
    if ip is None:
        return jsonify(ip=None, message=_("The agent's address pools are full.")), 200
    return jsonify(ip=ip, message="")


@bp.route("/accounts/new", methods=["GET", "POST"])
@requires("subscribers.edit")
def account_new():
    subscriber_id = request.args.get("subscriber", "")
    if not subscriber_id.isdigit():
        # Step 1: pick the subscriber (only those the manager may see).
        found = []
        if request.args.get("q"):
            ensure_index()
            condition = subscriber_condition(request.args.get("by", "any"), request.args["q"])
            found = list(scope(Subscriber.select().where(condition & (Subscriber.is_template == False)),  # noqa: E712
                               current_user).order_by(Subscriber.name).limit(50))
        return render_template("admin/accounts/pick.html", found=found)
    subscriber = visible_subscriber(int(subscriber_id))
    if subscriber.is_template:
        abort(404)
    form = AccountForm()
    _choices(form, subscriber)
    if not form.agreement_id.choices:
        flash(_("The subscriber has no agreement yet: create one first."), "error")
        return redirect(url_for("admin.agreement_new", subscriber_id=subscriber.id))
    if request.method == "GET":
        form.connect_date.data = today().isoformat()
        if request.args.get("agreement", "").isdigit():
            form.agreement_id.data = int(request.args["agreement"])
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate() & _chosen(form):
            try:
                account = accounts.create_account(form.domain_data(), actor=current_actor())
            except BillingError as exc:
                apply_errors(form, exc)
                status = exc.status
            else:
                flash(_("The account is created."), "success")
                return redirect(url_for("admin.account_edit", account_id=account.id))
    return render_template("admin/accounts/form.html", form=form, subscriber=subscriber, account=None), status


def _account_panels(account) -> dict:
    history = list(AccountStateChange.select().where(AccountStateChange.account == account.id)
                   .order_by(AccountStateChange.id.desc()).limit(100))
    describe_state_changes(history)
    changes = list(TariffChange.select(TariffChange, Tariff).join(Tariff, on=(TariffChange.tariff == Tariff.id))
                   .where(TariffChange.account == account.id).order_by(TariffChange.at.desc()).limit(100))
    charges = list(LedgerEntry.select().where((LedgerEntry.account_id == account.id)
                                              & (LedgerEntry.agreement == account.agreement_id))
                   .order_by(LedgerEntry.id.desc()).limit(100))
    plan_form = PlanTariffForm(prefix="plan")
    plan_form.tariff_id.choices = [(t.id, t.name) for t in
                                   Tariff.select().where(Tariff.archived == False).order_by(Tariff.name)]  # noqa: E712
    return {"history": history, "changes": changes, "charges": charges, "block_form": BlockForm(prefix="b"),
            "plan_form": plan_form,
            "ledger_kinds": KIND_LABELS, **account_services_panel(account)}


def _fill(form, account) -> None:
    form.tariff_id.data = account.tariff_id
    form.login.data = account.login
    form.ips.data = "\n".join(ip.network for ip in account.ips)
    form.mac.data = account.mac
    form.phone_numbers.data = account.phone_numbers
    form.description.data = account.description
    form.connect_date.data = account.connect_date.isoformat() if account.connect_date else ""
    form.disconnect_date.data = account.disconnect_date.isoformat() if account.disconnect_date else ""
    form.bandwidth_kbit.data = str(account.bandwidth_kbit)
    form.max_sessions.data = str(account.max_sessions)
    form.keep_remote_address.data = account.keep_remote_address
    form.keep_remote_port.data = account.keep_remote_port
    options = account.options or {}
    form.option_redirect.data = bool(options.get("redirect_when_blocked"))
    form.option_pool.data = options.get("pool", "")
    form.version.data = str(account.version)


@bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
@requires("subscribers.view")
def account_edit(account_id):
    account = visible_account(account_id)
    form = AccountForm()
    _choices(form, account.subscriber, account)
    # The agent and the agreement are chosen at creation (the login is unique
    # within the agent); the form shows them read-only.
    del form.agent_id
    del form.agreement_id
    status = 200
    if request.method == "POST":
        if not current_user.can("subscribers.edit"):
            abort(403)
        status = 422
        if form.validate():
            data = form.domain_data()
            try:
                version = int(form.version.data or 0) or None
            except ValueError:
                version = None
            try:
                accounts.update_account(account, data, actor=current_actor(), version=version)
            except BillingError as exc:
                apply_errors(form, exc)
                status = 409 if isinstance(exc, Conflict) and not exc.fields else exc.status
            else:
                flash(_("The account is saved."), "success")
                return redirect(url_for("admin.account_edit", account_id=account.id))
    else:
        _fill(form, account)
    return render_template("admin/accounts/form.html", form=form, subscriber=account.subscriber, account=account,
                           **_account_panels(account)), status


@bp.route("/accounts/<int:account_id>/block", methods=["POST"])
@requires("subscribers.edit")
def account_block(account_id):
    account = visible_account(account_id)
    form = BlockForm(prefix="b")
    try:
        blocks.block_by_staff(account, actor=current_actor(), reason=form.reason.data or "")
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The account is blocked."), "success")
    return redirect(url_for("admin.account_edit", account_id=account.id) + "#state")


@bp.route("/accounts/<int:account_id>/unblock", methods=["POST"])
@requires("subscribers.edit")
def account_unblock(account_id):
    account = visible_account(account_id)
    form = BlockForm(prefix="b")
    try:
        blocks.unblock_by_staff(account, actor=current_actor(), reason=form.reason.data or "")
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The staff block is lifted."), "success")
    return redirect(url_for("admin.account_edit", account_id=account.id) + "#state")


@bp.route("/accounts/<int:account_id>/delete", methods=["POST"])
@requires("subscribers.edit")
def account_delete(account_id):
    account = visible_account(account_id)
    accounts.delete_account(account, actor=current_actor())
    flash(_("The account is deleted; its history stays."), "success")
    return redirect(url_for("admin.subscriber_edit", subscriber_id=account.subscriber_id) + "#accounts")


@bp.route("/accounts/<int:account_id>/plan", methods=["POST"])
@requires("subscribers.edit")
def account_plan(account_id):
    """A planned tariff change at a date and time (seed 002 «Расписание»),
    through billing.tariff_schedule.plan_change."""
    account = visible_account(account_id)
    form = PlanTariffForm(prefix="plan")
    form.tariff_id.choices = [(t.id, t.name) for t in Tariff.select().where(Tariff.archived == False)]  # noqa: E712
    if not form.validate():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("admin.account_edit", account_id=account.id) + "#schedule")
    try:
        day = dt.date.fromisoformat((form.date.data or "").strip())
        clock = dt.time.fromisoformat((form.time.data or "00:00").strip() or "00:00")
    except ValueError:
        flash(_("Not a date."), "error")
        return redirect(url_for("admin.account_edit", account_id=account.id) + "#schedule")
    tariff = Tariff.get_by_id(form.tariff_id.data)
    try:
        # local wall-clock time
        tariff_schedule.plan_change(account, tariff, dt.datetime.combine(day, clock), actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The tariff change is planned."), "success")
    return redirect(url_for("admin.account_edit", account_id=account.id) + "#schedule")


@bp.route("/accounts/<int:account_id>/plan/<int:change_id>/cancel", methods=["POST"])
@requires("subscribers.edit")
def account_plan_cancel(account_id, change_id):
    """Withdraw a planned tariff change that has not been applied yet."""
    account = visible_account(account_id)
    change = TariffChange.get_or_none((TariffChange.id == change_id) & (TariffChange.account == account.id))
    if change is None:
        abort(404)
    try:
        tariff_schedule.cancel_change(change, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The planned tariff change is cancelled."), "success")
    return redirect(url_for("admin.account_edit", account_id=account.id) + "#schedule")
