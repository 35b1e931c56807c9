"""54-FZ receipts screens (DESIGN §11, DOMAIN-RULES §4): each operator's
fiscal settings at ATOL Online (settings.edit), and the receipts with
their fiscal attributes, failures and a retry button (payments.create;
a receipt shows an agreement, so only those of the manager's groups)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import Length

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error
from lanbill.errors import BillingError
from lanbill.models import Agreement, Operator, Payment
from lanbill.models.receipts import FiscalReceipt, FiscalSettings
from lanbill.paysys import receipts
from lanbill.staff import access

SNO_LABELS = [("osn", _l("General (ОСН)")), ("usn_income", _l("Simplified, income (УСН доходы)")),
              ("usn_income_outcome", _l("Simplified, income minus expenses (УСН доходы − расходы)")),
              ("esn", _l("Unified agricultural tax (ЕСХН)")), ("patent", _l("Patent (ПСН)"))]
VAT_LABELS = [("none", _l("Without VAT")), ("vat0", "0%"), ("vat5", "5%"), ("vat7", "7%"), ("vat10", "10%"),
              ("vat20", "20%"), ("vat22", "22%")]
MODE_LABELS = [("advance", _l("Advance (аванс, the item is a payment)")),
               ("full_prepayment", _l("Full prepayment (предоплата 100%, the item is a service)"))]
RECEIPT_STATUS_LABELS = {"pending": _l("To send"), "wait": _l("Sent, waiting"), "done": _l("Registered"),
                         "failed": _l("Failed")}
PER_PAGE = 100


class FiscalSettingsForm(FlaskForm):
    enabled = BooleanField(_l("Send receipts"))
    api_url = StringField(_l("ATOL Online API address"), default="https://online.atol.ru/possystem",
                          validators=[Length(max=255)])
    login = StringField(_l("Login"), validators=[Length(max=128)])
    password = PasswordField(_l("Password"), validators=[Length(max=128)])
    group_code = StringField(_l("Group code"), validators=[Length(max=128)])
    inn = StringField(_l("ИНН"), validators=[Length(max=12)])
    sno = SelectField(_l("Tax system"), choices=SNO_LABELS, default="usn_income")
    payment_address = StringField(_l("Place of settlement (site address)"), validators=[Length(max=255)])
    company_email = StringField(_l("Company e-mail"), validators=[Length(max=255)])
    vat = SelectField(_l("VAT rate"), choices=VAT_LABELS, default="none")
    settlement_mode = SelectField(_l("Receipt kind"), choices=MODE_LABELS, default="advance")
    item_name = StringField(_l("Item name"), default="Услуги связи по договору {agreement}",
                            validators=[Length(max=128)])
    callback_url = StringField(_l("Callback address (optional)"), validators=[Length(max=255)])


@bp.route("/fiscal")
@requires("settings.edit")
def fiscal_settings_list():
    operators = list(Operator.select().order_by(Operator.name))
    settings = {s.operator_id: s for s in FiscalSettings.select()}
    return render_template("admin/fiscal/list.html", operators=operators, settings=settings)


@bp.route("/fiscal/<int:operator_id>", methods=["GET", "POST"])
@requires("settings.edit")
def fiscal_settings_edit(operator_id):
    operator = Operator.get_or_none(Operator.id == operator_id)
    if operator is None:
        abort(404)
    existing = FiscalSettings.get_or_none(FiscalSettings.operator == operator.id)
    form = FiscalSettingsForm(obj=existing if request.method == "GET" else None)
    if request.method == "GET":
        form.password.data = ""
        if existing is None:
            form.enabled.data = True
            form.inn.data = operator.inn
            form.company_email.data = operator.email
    if request.method == "POST" and form.validate():
        try:
            receipts.save_settings(operator.id, form.data, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
        else:
            flash(_("Fiscal settings are saved."), "success")
            return redirect(url_for("admin.fiscal_settings_list"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/fiscal/form.html", form=form, operator=operator, existing=existing), status


@bp.route("/receipts")
@requires("payments.create")
def receipts_list():
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = (FiscalReceipt.select(FiscalReceipt, Payment, Agreement)
             .join(Payment).join(Agreement).order_by(FiscalReceipt.id.desc()))
    if status in RECEIPT_STATUS_LABELS:
        query = query.where(FiscalReceipt.status == status)
    query = access.scope(query, current_user, Agreement.subscriber)
    found = list(query.paginate(page, PER_PAGE + 1))
    failed = access.scope(FiscalReceipt.select().join(Payment).join(Agreement)
                          .where(FiscalReceipt.status == "failed"), current_user, Agreement.subscriber).count()
    return render_template("admin/fiscal/receipts.html", receipts=found[:PER_PAGE], has_next=len(found) > PER_PAGE,
                           page=page, status=status, status_labels=RECEIPT_STATUS_LABELS, failed_count=failed)


# The menu calls the receipts screen "admin.receipts".
bp.add_url_rule("/receipts", endpoint="receipts", view_func=receipts_list)


@bp.route("/receipts/<int:receipt_id>/retry", methods=["POST"])
@requires("payments.create")
def receipt_retry(receipt_id):
    receipt = FiscalReceipt.get_or_none(FiscalReceipt.id == receipt_id)
    if receipt is None:
        abort(404)
    agreement = Agreement.select().join(Payment, on=(Payment.agreement == Agreement.id)).where(
        Payment.id == receipt.payment_id).get()
    if not access.can_see_subscriber(current_user, agreement.subscriber_id):
        abort(404)
    try:
        receipts.retry(receipt.id, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The receipt will be sent again within a minute."), "success")
    return redirect(url_for("admin.receipts", status=request.args.get("status", "")))
