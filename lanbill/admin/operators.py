"""Operators (the ISP and its branches) with the requisites documents need
(seed 004: the first step is to rename "Default operator")."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires
from lanbill.admin.payment_numbering import numbering_form
from lanbill.admin.settings_forms import OperatorForm
from lanbill.admin.tables import Column, Table
from lanbill.customers import operators as operator_records
from lanbill.errors import BillingError
from lanbill.first_run import SEEDED_OPERATOR_NAMES
from lanbill.models import Operator

FIELDS = ("name", "inn", "kpp", "ogrn", "bank_name", "bik", "corr_account", "settlement_account", "address",
          "vat_percent", "director", "chief_accountant", "phone", "email",
          # what documents print (lanbill.customers.operators.clean_document_requisites)
          "is_vat_payer", "no_vat_basis", "director_position", "chief_accountant_position", "logo_path",
          "document_prefix")


def _columns():
    return [
        Column("id", "№", sort=Operator.id, css="num"),
        Column("name", _l("Name"), sort=Operator.name),
        Column("inn", _l("INN"), sort=Operator.inn),
        Column("kpp", _l("KPP"), sort=Operator.kpp),
        Column("director", _l("Director"), sort=Operator.director),
        Column("phone", _l("Phone"), sort=Operator.phone, visible=False),
        Column("is_default", _l("Default"), sort=Operator.is_default,
               value=lambda o: _("yes") if o.is_default else ""),
    ]


@bp.route("/operators")
@requires("settings.edit")
def operators():
    table = Table.from_request("operators", _columns(), default_sort="id", tie_breaker=Operator.id,
                               manager=current_user)
    page = table.page(Operator.select())
    return render_template("admin/operators/list.html", t=table, page=page)


def _save(operator):
    initial = None
    if operator is not None and request.method == "GET":
        initial = {f: getattr(operator, f) for f in FIELDS}
        initial["version"] = operator.version
    form = OperatorForm(data=initial)
    status = 200
    if request.method == "POST" and operator is not None and request.form.get("make_default"):
        operator_records.make_default_operator(operator.id, actor=current_actor())
        flash(_("New agreements will get this operator."), "success")
        return redirect(url_for("admin.operator_edit", operator_id=operator.id))
    if form.validate_on_submit():
        data = {f: getattr(form, f).data for f in FIELDS}
        try:
            if operator is None:
                operator = operator_records.create_operator(data, actor=current_actor())
            else:
                operator_records.update_operator(operator.id, data, actor=current_actor(),
                                                 version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The operator is saved."), "success")
            return redirect(url_for("admin.operator_edit", operator_id=operator.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/operators/form.html", form=form, operator=operator,
                           first_step=operator is not None and operator.name in SEEDED_OPERATOR_NAMES,
                           numbering_form=numbering_form(operator.id) if operator is not None else None), status


@bp.route("/operators/new", methods=["GET", "POST"])
@requires("settings.edit")
def operator_new():
    return _save(None)


@bp.route("/operators/<int:operator_id>", methods=["GET", "POST"])
@requires("settings.edit")
def operator_edit(operator_id):
    return _save(Operator.get_or_none(Operator.id == operator_id) or abort(404))
