"""Cabinet pages: login and home at `/`, log out, the histories of payments,
charges and blocks, the user block, the Internet and cabinet passwords
and the promised payment (seed 002, Рис. 1–7 and 10)."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from markupsafe import Markup

from lanbill.billing import blocks
from lanbill.cabinet import bp, cabinet_datetime
from lanbill.cabinet.common import (
    actor,
    cabinet_required,
    end_session,
    logged_in_subscriber,
    me,
    own_or_404,
    render_page,
    show_errors,
    start_session,
    translate_error,
)
from lanbill.cabinet.forms import ActionForm, CabinetPasswordForm, LoginForm, PromiseForm, ServicePasswordForm
from lanbill.customers import cabinet
from lanbill.errors import N_, BillingError
from lanbill.models import Subscriber
from lanbill.money import format_money

# The state of an account in plain Russian (DESIGN §5): msgids, and the
# same as lazy strings for code outside a page.
STATE_MSGIDS = {
    "active": N_("Working"),
    "balance": N_("Blocked: not enough money on the balance"),
    "admin": N_("Blocked by the operator"),
    "traffic": N_("Blocked: the traffic limit is used up"),
    "user": N_("Blocked at your request"),
    "off": N_("Disconnected"),
}
CHARGE_MSGIDS = {
    "rent": N_("Monthly fee"),
    "rent_correction": N_("Monthly fee recalculation"),
    "service": N_("Service"),
    "volume": N_("Traffic"),
    "time": N_("Connection time"),
    "one_off": N_("One-off charge"),
    "correction": N_("Correction"),
    "opening_balance": N_("Opening balance"),
}
STATE_TEXT = {key: _l(msgid) for key, msgid in STATE_MSGIDS.items()}
CHARGE_TEXT = {key: _l(msgid) for key, msgid in CHARGE_MSGIDS.items()}


@bp.before_request
def _fresh_request_state():
    # `g` may outlive a request when an app context is shared (tests do):
    # the subscriber is read from this request's session, never a leftover.
    g.pop("cabinet_subscriber", None)
    g.pop("cabinet_ended", None)


@bp.app_context_processor
def _cabinet_globals():
    return {"state_text": STATE_TEXT, "charge_text": CHARGE_TEXT}


@bp.context_processor
def _cabinet_translations():
    """A cabinet page's texts: the request's catalogue is looked up once per
    page, not once per text (Flask-Babel's lookup cost more than the rest
    of a short page), and the state and charge names come translated."""
    translations = get_translations()
    text = translations.ugettext
    return {"gettext": _page_gettext(text), "ngettext": _page_ngettext(translations.ungettext),
            "state_text": {key: text(msgid) for key, msgid in STATE_MSGIDS.items()},
            "charge_text": {key: text(msgid) for key, msgid in CHARGE_MSGIDS.items()}}


@bp.context_processor
def _cabinet_links():
    """`cabinet_url(page, …)`: the link to another cabinet page.  The page
    templates are shared with the staff's read-only view of a cabinet,
    which passes its own `cabinet_url`, `cabinet_layout` and `read_only`."""
    return {"cabinet_url": lambda page, **values: url_for(f"cabinet.{page}", **values), "read_only": False}


def _page_gettext(text):
    """Jinja's "new style" gettext (what Flask-Babel installs) over one
    catalogue: the text escaped as markup, its %(name)s filled in."""

    @pass_context
    def gettext(context, string, **variables):
        found = text(string)
        if context.eval_ctx.autoescape:
            found = Markup(found)
        return found % variables

    return gettext


def _page_ngettext(text):
    @pass_context
    def ngettext(context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        found = text(singular, plural, num)
        if context.eval_ctx.autoescape:
            found = Markup(found)
        return found % variables

    return ngettext


@bp.route("/", methods=["GET", "POST"])
def login():
    """The login page, or the home page once logged in (seed 002, Рис. 1–2)."""
    if logged_in_subscriber() is not None:
        return _home()
    if g.get("cabinet_ended") and request.method == "GET":
        flash(g.cabinet_ended, "warning")
    form = LoginForm()
    if form.validate_on_submit():
        config = current_app.config
        try:
            subscriber = cabinet.authenticate(
                form.login.data, form.password.data, ip=request.remote_addr or "",
                free_failures=int(config["LOGIN_MAX_FAILURES"]),
                free_per_address=int(config.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)),
            )
        except cabinet.CabinetLoginRefused as exc:
            form.password.errors = [_(exc.message, seconds=exc.wait_seconds) if exc.wait_seconds
                                    else _(exc.message)]
            headers = {"Retry-After": str(exc.wait_seconds)} if exc.wait_seconds else {}
            body, _status = render_page("cabinet/login.html", form=form, subscriber=None)
            return body, 429 if exc.wait_seconds else 401, headers
        start_session(subscriber)
        return redirect(url_for("cabinet.login"))
    return render_page("cabinet/login.html", 422 if request.method == "POST" else 200, form=form, subscriber=None)


def _home():
    subscriber = me()
    return render_page("cabinet/home.html", agreements=cabinet.home(subscriber), block_form=ActionForm())


@bp.route("/sign-out", methods=["POST"])
def logout():
    form = ActionForm(prefix="logout")
    if not form.validate_on_submit():
        abort(400)
    subscriber = logged_in_subscriber()
    if subscriber is not None:
        cabinet.record_logout(subscriber, ip=request.remote_addr or "")
    end_session()
    flash(_("You have logged out."), "success")
    return redirect(url_for("cabinet.login"))


# --- histories ---------------------------------------------------------------------------


def _period():
    """The period of a history page from ?from=&to=, or the current month
    with the refusal shown when the dates are wrong."""
    try:
        return (*cabinet.parse_period(request.args.get("from"), request.args.get("to")), "")
    except BillingError as exc:
        first, last = cabinet.parse_period(None, None)
        return first, last, translate_error(exc)


def _chosen_agreement(agreements):
    chosen = request.args.get("agreement")
    if chosen:
        return own_or_404(cabinet.own_agreement, chosen)
    if not agreements:
        return None
    return agreements[0]


def _no_agreements(title):
    """A history page of a subscriber without agreements: an empty page
    that says so, not "not found"."""
    return render_page("cabinet/no_agreements.html", title=title)


@bp.route("/payments")
@cabinet_required
def payments():
    """Payment history (seed 002, Рис. 3)."""
    agreements = cabinet.own_agreements(me())
    agreement = _chosen_agreement(agreements)
    if agreement is None:
        return _no_agreements(_("Payment history"))
    first, last, error = _period()
    rows = cabinet.payment_history(agreement, first, last)
    total = sum((p.amount for p in rows if p.cancelled_at is None), Decimal("0.00"))
    return render_page("cabinet/payments.html", agreements=agreements, agreement=agreement, first=first, last=last,
                 error=error, rows=rows, total=total)


@bp.route("/charges")
@cabinet_required
def charges():
    """«История списаний абонентской платы» (seed 002, Рис. 4)."""
    agreements = cabinet.own_agreements(me())
    agreement = _chosen_agreement(agreements)
    if agreement is None:
        return _no_agreements(_("Charge history"))
    first, last, error = _period()
    rows = cabinet.charge_history(agreement, first, last)
    total = sum((-e.amount for e in rows), Decimal("0.00"))
    return render_page("cabinet/charges.html", agreements=agreements, agreement=agreement, first=first, last=last,
                 error=error, rows=rows, total=total)


@bp.route("/blocks")
@cabinet_required
def block_history():
    """Block history of the accounts (seed 002, Рис. 6)."""
    accounts = cabinet.own_accounts(me())
    account = own_or_404(cabinet.own_account, request.args["account"]) if request.args.get("account") else None
    first, last, error = _period()
    rows = cabinet.block_history(me(), first, last, account)
    return render_page("cabinet/blocks.html", accounts=accounts, account=account, first=first, last=last,
                 error=error, rows=rows)


# --- what the subscriber changes ---------------------------------------------------------


@bp.route("/accounts/<int:account_id>/block", methods=["POST"])
@cabinet_required
def user_block(account_id):
    """The user block on or off (seed 002, Рис. 7)."""
    account = own_or_404(cabinet.own_account, account_id)
    form = ActionForm()
    if not form.validate_on_submit() or form.value.data not in ("on", "off"):
        flash(_("The request was not understood; nothing is changed."), "error")
        return redirect(url_for("cabinet.login"))
    try:
        changed = cabinet.set_user_block(me(), account.id, form.value.data == "on", actor=actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("cabinet.login"))
    if changed:
        flash(_("The account %(login)s is blocked at your request.", login=account.login)
              if form.value.data == "on" else
              _("Your block of the account %(login)s is lifted.", login=account.login), "success")
    return redirect(url_for("cabinet.login"))


@bp.route("/accounts/<int:account_id>/password", methods=["GET", "POST"])
@cabinet_required
def service_password(account_id):
    """The Internet password of an account (seed 002, Рис. 5)."""
    account = own_or_404(cabinet.own_account, account_id)
    form = ServicePasswordForm()
    if form.validate_on_submit():
        try:
            cabinet.change_service_password(me(), account.id, form.password.data, form.repeat.data, actor=actor())
        except BillingError as exc:
            show_errors(form, exc)
            return render_page("cabinet/service_password.html", 422, form=form, account=account)
        flash(_("The Internet password of %(login)s is changed.", login=account.login), "success")
        return redirect(url_for("cabinet.login"))
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/service_password.html", status, form=form, account=account)


@bp.route("/settings/password", methods=["GET", "POST"])
@cabinet_required
def cabinet_password():
    """The cabinet password (seed 002, Рис. 10)."""
    form = CabinetPasswordForm()
    if form.validate_on_submit():
        try:
            cabinet.change_own_password(me(), form.current.data, form.password.data, form.repeat.data,
                                        actor=actor())
        except BillingError as exc:
            show_errors(form, exc)
            return render_page("cabinet/cabinet_password.html", 422, form=form)
        start_session(Subscriber.get_by_id(me().id))  # this session stays, the others end
        flash(_("The cabinet password is changed."), "success")
        return redirect(url_for("cabinet.login"))
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/cabinet_password.html", status, form=form)


@bp.route("/agreements/<int:agreement_id>/promise", methods=["GET", "POST"])
@cabinet_required
def promise(agreement_id):
    """A promised payment on request (DESIGN §10; seed 002 «Обещанный
    платеж»): the group rules decide, their refusals are shown."""
    agreement = own_or_404(cabinet.own_agreement, agreement_id)
    offer = cabinet.promise_offer(agreement)
    form = PromiseForm()
    if request.method == "GET" and offer:
        form.amount.data = str(offer).replace(".", ",")
    if form.validate_on_submit():
        try:
            made = cabinet.request_promise(me(), agreement.id, form.amount.data, actor=actor())
        except BillingError as exc:
            show_errors(form, exc)
            return render_page("cabinet/promise.html", 422, form=form, agreement=agreement, offer=offer,
                         funds=blocks.available_funds(agreement))
        flash(_("The promised payment of %(amount)s is given until %(due)s.", amount=format_money(made.amount),
                due=_when(made.due_at)), "success")
        return redirect(url_for("cabinet.login"))
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/promise.html", status, form=form, agreement=agreement, offer=offer,
                 funds=blocks.available_funds(agreement))


def _when(value) -> str:
    return cabinet_datetime(value)
