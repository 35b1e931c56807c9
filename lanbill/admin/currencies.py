"""Currencies and their exchange rates by date (DESIGN §4: a charge in
another currency is converted at that day's rate)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import fn

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires
from lanbill.admin.settings_forms import CurrencyForm, RateForm
from lanbill.admin.tables import Column, Table
from lanbill.billing import currency as currency_rates
from lanbill.errors import BillingError
from lanbill.models import Currency, CurrencyRate


def _columns():
    return [
        Column("code", _l("Code"), sort=Currency.code),
        Column("name", _l("Name"), sort=Currency.name),
        Column("symbol", _l("Symbol"), sort=Currency.symbol),
        Column("is_default", _l("Default"), sort=Currency.is_default, value=lambda c: _("yes") if c.is_default else ""),
        Column("rate", _l("Latest rate"), css="num"),
    ]


@bp.route("/currencies")
@requires("settings.edit")
def currencies():
    table = Table.from_request("currencies", _columns(), default_sort="code", tie_breaker=Currency.id,
                               manager=current_user)
    page = table.page(Currency.select())
    # The latest rate of each currency on the page: two queries, not one per row.
    ids = [c.id for c in page.items]
    latest = {}
    if ids:
        last_dates = (CurrencyRate.select(CurrencyRate.currency, fn.MAX(CurrencyRate.date).alias("last"))
                      .where(CurrencyRate.currency.in_(ids)).group_by(CurrencyRate.currency))
        wanted = {(r.currency_id, r.last) for r in last_dates}
        for rate in CurrencyRate.select().where(CurrencyRate.currency.in_(ids)):
            if (rate.currency_id, rate.date) in wanted or (rate.currency_id, str(rate.date)) in wanted:
                latest[rate.currency_id] = rate
    return render_template("admin/currencies/list.html", t=table, page=page, latest=latest,
                           form=CurrencyForm(formdata=None))


@bp.route("/currencies/new", methods=["POST"])
@requires("settings.edit")
def currency_new():
    form = CurrencyForm()
    if form.validate_on_submit():
        try:
            currency = currency_rates.create_currency(
                {"code": form.code.data, "name": form.name.data, "symbol": form.symbol.data}, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
        else:
            flash(_("The currency is added."), "success")
            return redirect(url_for("admin.currency_edit", currency_id=currency.id))
    table = Table.from_request("currencies", _columns(), default_sort="code", tie_breaker=Currency.id,
                               manager=current_user)
    page = table.page(Currency.select())
    return render_template("admin/currencies/list.html", t=table, page=page, latest={}, form=form), 422


def _rate_columns():
    return [
        Column("date", _l("Date"), sort=CurrencyRate.date),
        Column("rate", _l("Rate"), sort=CurrencyRate.rate, css="num"),
    ]


@bp.route("/currencies/<int:currency_id>", methods=["GET", "POST"])
@requires("settings.edit")
def currency_edit(currency_id):
    currency = Currency.get_or_none(Currency.id == currency_id) or abort(404)
    initial = None
    if request.method == "GET":
        initial = {"code": currency.code, "name": currency.name, "symbol": currency.symbol,
                   "version": currency.version}
    form = CurrencyForm(data=initial)
    status = 200
    if request.method == "POST":
        form.code.data = currency.code  # fixed after creation
        if form.validate_on_submit():
            try:
                currency_rates.update_currency(currency.id, {"name": form.name.data, "symbol": form.symbol.data},
                                         actor=current_actor(), version=form.version_number())
            except BillingError as exc:
                apply_errors(form, exc)
                status = exc.status
            else:
                flash(_("The currency is saved."), "success")
                return redirect(url_for("admin.currency_edit", currency_id=currency.id))
        else:
            status = 422
    return _currency_page(currency, form, RateForm(formdata=None), status)


def _currency_page(currency, form, rate_form, status):
    table = Table.from_request("currency_rates", _rate_columns(), default_sort="date", descending=True,
                               tie_breaker=CurrencyRate.id, manager=current_user)
    page = table.page(CurrencyRate.select().where(CurrencyRate.currency == currency.id))
    return render_template("admin/currencies/form.html", currency=currency, form=form, rate_form=rate_form,
                           t=table, page=page), status


@bp.route("/currencies/<int:currency_id>/rates", methods=["POST"])
@requires("settings.edit")
def currency_rate_new(currency_id):
    currency = Currency.get_or_none(Currency.id == currency_id) or abort(404)
    rate_form = RateForm()
    if rate_form.validate_on_submit():
        try:
            currency_rates.set_rate(currency.id, rate_form.date.data, rate_form.rate.data, actor=current_actor())
        except BillingError as exc:
            apply_errors(rate_form, exc)
        else:
            flash(_("The rate is saved."), "success")
            return redirect(url_for("admin.currency_edit", currency_id=currency.id))
    form = CurrencyForm(data={"code": currency.code, "name": currency.name, "symbol": currency.symbol,
                              "version": currency.version}, formdata=None)
    return _currency_page(currency, form, rate_form, 422)


@bp.route("/currencies/rates/<int:rate_id>/delete", methods=["POST"])
@requires("settings.edit")
def currency_rate_delete(rate_id):
    rate = CurrencyRate.get_or_none(CurrencyRate.id == rate_id) or abort(404)
    currency_rates.delete_rate(rate.id, actor=current_actor())
    flash(_("The rate is deleted."), "success")
    return redirect(url_for("admin.currency_edit", currency_id=rate.currency_id))
