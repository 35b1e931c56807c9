"""Payment systems (DESIGN §11): the list and the form that configures
one — protocol, operator, allowed networks, credentials (the secret is
write-only: an empty field keeps it), account identifier, amount limits,
the receipt rule and ЮKassa's options.  Registry layouts and payment card
settings have their own screens."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires
from lanbill.admin.forms import MultiCheckboxField
from lanbill.admin.settings_forms import REQUIRED, Money, VersionedForm
from lanbill.admin.tables import Column, Table
from lanbill.errors import BillingError
from lanbill.models import Operator
from lanbill.models.paysys import PaymentSystem
from lanbill.paysys import systems

KIND_LABELS = {
    "osmp": _l("Payment terminals and aggregators (OSMP/QIWI check/pay)"),
    "sberbank_online": _l("Sberbank Online (check/payment)"),
    "yookassa": _l("ЮKassa: pay online from the cabinet"),
    "registry": _l("Bank or agent registries, 1C statements"),
    "cards": _l("Payment cards"),
}
IDENTIFIER_LABELS = {
    "agreement": _l("Agreement number"),
    "agreement_check_digit": _l("Agreement number with a check digit"),
}
METHOD_LABELS = {"bank_card": _l("Bank card"), "sbp": _l("СБП (Faster Payments System)")}
# the domain's option errors → this form's fields
OPTION_FIELDS = {"options.shop_id": "shop_id", "options.api_url": "api_url", "options.methods": "methods",
                 "options.autopay_days_before": "autopay_days_before", "operator_id": "operator"}


class PaymentSystemForm(VersionedForm):
    code = StringField(_l("Code (the address /pay/<code>)"), validators=[DataRequired(message=REQUIRED),
                                                                       Length(max=24)])
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    kind = SelectField(_l("Protocol"), choices=list(KIND_LABELS.items()))
    operator = SelectField(_l("Operator"), coerce=int)
    allowed_networks = TextAreaField(_l("Allowed source addresses"))
    login = StringField(_l("Login (HTTP basic)"), validators=[Length(max=128)])
    password = PasswordField(_l("Password or secret key"), validators=[Length(max=256)])
    account_identifier = SelectField(_l("The subscriber pays by"), choices=list(IDENTIFIER_LABELS.items()))
    min_amount = StringField(_l("Smallest amount"), validators=[Optional(), Money()])
    max_amount = StringField(_l("Largest amount"), validators=[Optional(), Money()])
    needs_receipt = BooleanField(_l("Its payments need our 54-FZ receipt"))
    enabled = BooleanField(_l("Accepts payments"), default=True)
    shop_id = StringField(_l("ЮKassa shop id"), validators=[Length(max=20)])
    api_url = StringField(_l("ЮKassa API address"), default=systems.YOOKASSA_API_URL, validators=[Length(max=255)])
    methods = MultiCheckboxField(_l("Payment methods in the cabinet"), choices=list(METHOD_LABELS.items()),
                                 default=list(systems.ONLINE_METHODS))
    autopay = BooleanField(_l("Subscribers may save a card and switch on autopayment"), default=True)
    autopay_days_before = IntegerField(_l("Autopayment: days before the monthly charge"), default=3,
                                       validators=[Optional(), NumberRange(min=1, max=20,
                                                                           message=_l("From 1 to 20."))])


def _columns():
    return [
        Column("code", _l("Code"), sort=PaymentSystem.code),
        Column("name", _l("Name"), sort=PaymentSystem.name),
        Column("kind", _l("Protocol"), sort=PaymentSystem.kind, value=lambda s: KIND_LABELS.get(s.kind, s.kind)),
        Column("url", _l("Address"), value=lambda s: f"/pay/{s.code}"),
        Column("enabled", _l("Accepts payments"), sort=PaymentSystem.enabled,
               value=lambda s: _("yes") if s.enabled else _("no")),
    ]


@bp.route("/payment-systems")
@requires("settings.edit")
def payment_systems():
    table = Table.from_request("payment_systems", _columns(), default_sort="code", tie_breaker=PaymentSystem.id,
                               manager=current_user)
    page = table.page(PaymentSystem.select())
    return render_template("admin/paysys/list.html", t=table, page=page)


def _initial(system: PaymentSystem) -> dict:
    options = system.options or {}
    return {
        "code": system.code, "name": system.name, "kind": system.kind, "operator": system.operator_id or 0,
        "allowed_networks": system.allowed_networks, "login": system.login,
        "account_identifier": system.account_identifier,
        "min_amount": "" if system.min_amount is None else str(system.min_amount),
        "max_amount": "" if system.max_amount is None else str(system.max_amount),
        "needs_receipt": system.needs_receipt, "enabled": system.enabled, "version": system.version,
        "shop_id": options.get("shop_id", ""), "api_url": options.get("api_url", systems.YOOKASSA_API_URL),
        "methods": options.get("methods", list(systems.ONLINE_METHODS)), "autopay": options.get("autopay", True),
        "autopay_days_before": options.get("autopay_days_before", 3),
    }


def _data(form, system: PaymentSystem | None) -> dict:
    kind = system.kind if system is not None else form.kind.data
    data = {
        "code": form.code.data, "name": form.name.data, "kind": kind, "operator_id": form.operator.data or None,
        "allowed_networks": form.allowed_networks.data or "", "login": form.login.data or "",
        "account_identifier": form.account_identifier.data, "min_amount": form.min_amount.data or None,
        "max_amount": form.max_amount.data or None, "needs_receipt": form.needs_receipt.data,
        "enabled": form.enabled.data,
    }
    if form.password.data:
        data["password"] = form.password.data
    if kind == "yookassa":
        data["options"] = {"shop_id": form.shop_id.data, "api_url": form.api_url.data, "methods": form.methods.data,
                           "autopay": form.autopay.data,
                           "autopay_days_before": form.autopay_days_before.data or 3}
    elif system is not None:
        data["options"] = system.options or {}
    return data


def _save(system: PaymentSystem | None):
    form = PaymentSystemForm(data=_initial(system) if system is not None and request.method == "GET" else None)
    operators = Operator.select().order_by(Operator.name)
    form.operator.choices = [(0, _("Any operator"))] + [(o.id, o.name) for o in operators]
    if system is not None:
        form.kind.data = system.kind
    status = 200
    if form.validate_on_submit():
        try:
            if system is None:
                system = systems.create_system(_data(form, None), actor=current_actor())
            else:
                systems.update_system(system.id, _data(form, system), actor=current_actor(),
                                      version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc, aliases=OPTION_FIELDS)
            status = exc.status
        else:
            flash(_("The payment system is saved."), "success")
            return redirect(url_for("admin.payment_system_edit", system_id=system.id))
    elif request.method == "POST":
        status = 422
    secret = systems.masked_secret(system) if system is not None else ""
    return render_template("admin/paysys/form.html", form=form, system=system, secret=secret), status


@bp.route("/payment-systems/new", methods=["GET", "POST"])
@requires("settings.edit")
def payment_system_new():
    return _save(None)


@bp.route("/payment-systems/<int:system_id>", methods=["GET", "POST"])
@requires("settings.edit")
def payment_system_edit(system_id):
    return _save(PaymentSystem.get_or_none(PaymentSystem.id == system_id) or abort(404))
