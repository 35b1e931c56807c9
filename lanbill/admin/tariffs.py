"""Tariff screens: list, form with every tariff parameter (DESIGN §6), copy,
archive, and the tariff's traffic categories."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN, fn

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error
from lanbill.admin.settings_forms import CategoryForm, TariffForm
from lanbill.admin.tables import Column, Table
from lanbill.billing import tariffs as billing_tariffs
from lanbill.db import is_sqlite
from lanbill.errors import BillingError
from lanbill.models import Account, Currency, Tariff, TrafficCategory
from lanbill.money import money_str
from lanbill.network import traffic_categories

SCHEME_SHORT = {"monthly": _l("Monthly"), "daily": _l("Daily"), "dynamic": _l("Dynamic")}


def _columns():
    return [
        Column("id", "№", sort=Tariff.id, css="num"),
        Column("name", _l("Name"), sort=Tariff.name),
        Column("scheme", _l("Rent scheme"), sort=Tariff.scheme, value=lambda t: SCHEME_SHORT.get(t.scheme, t.scheme)),
        Column("rent", _l("Rent"), sort=Tariff.rent, css="num"),
        Column("speed", _l("Speed in/out, kbit/s"), sort=Tariff.speed_in_kbit,
               value=lambda t: f"{t.speed_in_kbit}/{t.speed_out_kbit}"),
        Column("currency", _l("Currency"), sort=Currency.code, value=lambda t: t.currency.code),
        Column("accounts", _l("Accounts"), sort=fn.COUNT(Account.id), css="num",
               value=lambda t: t.account_count),
        Column("archived", _l("Archived"), sort=Tariff.archived, visible=False,
               value=lambda t: _("yes") if t.archived else _("no")),
    ]


@bp.route("/tariffs")
@requires("tariffs.edit")
def tariffs():
    show = request.args.get("show", "current")
    table = Table.from_request("tariffs", _columns(), default_sort="name", tie_breaker=Tariff.id,
                               manager=current_user)
    live = Account.deleted == False  # noqa: E712
    query = (
        Tariff.select(Tariff, Currency, fn.COUNT(Account.id).alias("account_count"))
        .join(Currency)
        .switch(Tariff)
        .join(Account, JOIN.LEFT_OUTER, on=((Account.tariff == Tariff.id) & live))
        .group_by(Tariff, Currency)
    )
    if show == "archived":
        query = query.where(Tariff.archived == True)  # noqa: E712
    elif show != "all":
        query = query.where(Tariff.archived == False)  # noqa: E712
    q = (request.args.get("q") or "").strip()
    if q:
        # SQLite's LIKE folds only ASCII: compare through lb_lower() there
        # (registered by lanbill.customers.search); PostgreSQL's ILIKE folds all.
        name = fn.lb_lower(Tariff.name) if is_sqlite() else Tariff.name
        query = query.where(name.contains(q.lower()))
    page = table.page(query)
    return render_template("admin/tariffs/list.html", t=table, page=page, show=show, q=q)


def currency_choices(form) -> None:
    """The form's currency select: the default currency first, then by code
    (tariffs and services)."""
    form.currency.choices = [(c.code, f"{c.code} — {c.name}") for c in Currency.select().order_by(
        Currency.is_default.desc(), Currency.code)]


def _initial(tariff: Tariff) -> dict:
    data = {f: getattr(tariff, f) for f in (
        "name", "description", "scheme", "prepaid_mb", "traffic_limit_mb", "speed_in_kbit", "speed_out_kbit",
        "volume_source", "prepaid_minutes", "framed_pool", "version")}
    data["currency"] = tariff.currency.code
    for key in ("rent", "rent_blocked", "rent_admin_blocked", "rent_user_blocked", "price_per_minute"):
        value = getattr(tariff, key)
        data[key] = money_str(value).replace(".", ",") if value is not None else ""
    return data


@bp.route("/tariffs/new", methods=["GET", "POST"])
@requires("tariffs.edit")
def tariff_new():
    form = TariffForm()
    currency_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            tariff = billing_tariffs.create_tariff(form.data_for_service(), actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The tariff is created."), "success")
            return redirect(url_for("admin.tariff_edit", tariff_id=tariff.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/tariffs/form.html", form=form, tariff=None), status


@bp.route("/tariffs/<int:tariff_id>", methods=["GET", "POST"])
@requires("tariffs.edit")
def tariff_edit(tariff_id):
    tariff = Tariff.get_or_none(Tariff.id == tariff_id) or abort(404)
    form = TariffForm(data=_initial(tariff) if request.method == "GET" else None)
    currency_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            billing_tariffs.update_tariff(tariff, form.data_for_service(), actor=current_actor(),
                                  version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The tariff is saved."), "success")
            return redirect(url_for("admin.tariff_edit", tariff_id=tariff.id))
    elif request.method == "POST":
        status = 422
    categories = list(TrafficCategory.select().where(TrafficCategory.tariff == tariff.id)
                      .order_by(TrafficCategory.id))
    in_use = Account.select().where((Account.tariff == tariff.id) & (Account.deleted == False)).count()  # noqa: E712
    return render_template("admin/tariffs/form.html", form=form, tariff=tariff, categories=categories,
                           category_form=CategoryForm(formdata=None), in_use=in_use), status


@bp.route("/tariffs/<int:tariff_id>/copy", methods=["POST"])
@requires("tariffs.edit")
def tariff_copy(tariff_id):
    tariff = Tariff.get_or_none(Tariff.id == tariff_id) or abort(404)
    copy = billing_tariffs.copy_tariff(tariff, actor=current_actor(), name=_("%(name)s (copy)", name=tariff.name))
    flash(_("The tariff is copied; the copy is open."), "success")
    return redirect(url_for("admin.tariff_edit", tariff_id=copy.id))


@bp.route("/tariffs/<int:tariff_id>/archive", methods=["POST"])
@requires("tariffs.edit")
def tariff_archive(tariff_id):
    """Archive (or bring back): an archived tariff is not offered to new
    accounts; accounts on it keep it.  Tariffs are never deleted here."""
    tariff = Tariff.get_or_none(Tariff.id == tariff_id) or abort(404)
    archived = request.form.get("archived", "1") == "1"
    billing_tariffs.archive_tariff(tariff, actor=current_actor(), archived=archived)
    flash(_("The tariff is archived.") if archived else _("The tariff is back from the archive."), "success")
    return redirect(url_for("admin.tariff_edit", tariff_id=tariff.id))


@bp.route("/tariffs/<int:tariff_id>/categories", methods=["POST"])
@requires("tariffs.edit")
def tariff_category_new(tariff_id):
    tariff = Tariff.get_or_none(Tariff.id == tariff_id) or abort(404)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            traffic_categories.create_category(tariff.id, form.data, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
        else:
            flash(_("The category is added."), "success")
            return redirect(url_for("admin.tariff_edit", tariff_id=tariff.id) + "#categories")
    return _category_page(tariff, form, None)


@bp.route("/tariffs/categories/<int:category_id>", methods=["GET", "POST"])
@requires("tariffs.edit")
def tariff_category_edit(category_id):
    category = TrafficCategory.get_or_none(TrafficCategory.id == category_id) or abort(404)
    initial = {"name": category.name, "networks": category.networks, "prepaid": category.prepaid,
               "price_in_mb": money_str(category.price_in_mb).replace(".", ","),
               "price_out_mb": money_str(category.price_out_mb).replace(".", ",")}
    form = CategoryForm(data=initial if request.method == "GET" else None)
    if request.method == "POST" and request.form.get("delete"):
        try:
            traffic_categories.delete_category(category.id, actor=current_actor())
        except BillingError as exc:
            flash(translate_error(exc), "error")
            return redirect(url_for("admin.tariff_category_edit", category_id=category.id))
        flash(_("The category is deleted."), "success")
        return redirect(url_for("admin.tariff_edit", tariff_id=category.tariff_id) + "#categories")
    if form.validate_on_submit():
        try:
            traffic_categories.update_category(category.id, form.data, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
        else:
            flash(_("The category is saved."), "success")
            return redirect(url_for("admin.tariff_edit", tariff_id=category.tariff_id) + "#categories")
    elif request.method == "GET":
        return render_template("admin/tariffs/category.html", form=form, category=category,
                               tariff=category.tariff)
    return _category_page(category.tariff, form, category)


def _category_page(tariff, form, category):
    return render_template("admin/tariffs/category.html", form=form, category=category, tariff=tariff), 422
