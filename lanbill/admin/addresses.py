"""The address directory: region → city → street → building, with postal
indexes (a building's wins over its street's), and the small endpoint the
subscriber form's address picker uses (JSON, or <option>s for htmx)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error
from lanbill.admin.settings_forms import EntryForm
from lanbill.admin.tables import Column, Table
from lanbill.customers import addresses as directory
from lanbill.errors import BillingError

LEVEL_TITLES = {"region": _l("Regions"), "city": _l("Cities"), "street": _l("Streets"), "building": _l("Buildings")}
LEVEL_NAMES = {"region": _l("Region"), "city": _l("City"), "street": _l("Street"), "building": _l("Building")}


def _path():
    """The chosen region/city/street from the query string, checked top-down."""
    chosen = {}
    for level, parent in (("region", None), ("city", "region"), ("street", "city")):
        value = request.args.get(level)
        if not value:
            break
        try:
            entry = directory.get_entry(level, value)
        except BillingError:
            abort(404)
        if parent and getattr(entry, parent + "_id") != chosen[parent].id:
            abort(404)
        chosen[level] = entry
    return chosen


def _level_of(chosen) -> str:
    if "street" in chosen:
        return "building"
    if "city" in chosen:
        return "street"
    if "region" in chosen:
        return "city"
    return "region"


@bp.route("/addresses", methods=["GET", "POST"])
@requires("settings.edit")
def addresses():
    chosen = _path()
    level = _level_of(chosen)
    parent_level = directory.PARENT_LEVEL.get(level)
    parent = chosen.get(parent_level) if parent_level else None
    form = EntryForm()
    status = 200
    if form.validate_on_submit():
        try:
            directory.add_entry(level, parent.id if parent else None, form.name.data, actor=current_actor(),
                                postal_index=form.postal_index.data)
        except BillingError as exc:
            apply_errors(form, exc, {"number": "name"})
            status = exc.status
        else:
            flash(_("The entry is added."), "success")
            return redirect(request.full_path)
    elif request.method == "POST":
        status = 422
    q = (request.args.get("q") or "").strip()
    model = directory.MODELS[level]
    columns = [Column("name", LEVEL_NAMES[level], sort=getattr(model, directory.NAME_FIELD[level]),
                      value=lambda e: getattr(e, directory.NAME_FIELD[level]))]
    if level in directory.HAS_INDEX:
        columns.append(Column("postal_index", _l("Postal index"), sort=model.postal_index))
    table = Table.from_request(f"addresses_{level}", columns, default_sort="name", tie_breaker=model.id,
                               manager=current_user)
    page = table.page(directory.children_query(level, parent.id if parent else None, q=q))
    return render_template("admin/addresses/list.html", chosen=chosen, level=level, t=table, page=page, form=form,
                           q=q,
                           titles=LEVEL_TITLES, names=LEVEL_NAMES, has_index=level in directory.HAS_INDEX,
                           child_level=directory.CHILD_LEVEL.get(level)), status


@bp.route("/addresses/<level>/<int:entry_id>", methods=["GET", "POST"])
@requires("settings.edit")
def address_entry(level, entry_id):
    try:
        entry = directory.get_entry(level, entry_id)
    except BillingError:
        abort(404)
    name_field = directory.NAME_FIELD[level]
    initial = {"name": getattr(entry, name_field), "postal_index": getattr(entry, "postal_index", "")}
    form = EntryForm(data=initial if request.method == "GET" else None)
    back = _back_url(level, entry)
    status = 200
    if request.method == "POST" and request.form.get("delete"):
        try:
            directory.delete_entry(level, entry.id, actor=current_actor())
        except BillingError as exc:
            flash(translate_error(exc), "error")
            return redirect(url_for("admin.address_entry", level=level, entry_id=entry.id))
        flash(_("The entry is deleted."), "success")
        return redirect(back)
    if form.validate_on_submit():
        try:
            directory.update_entry(level, entry.id, actor=current_actor(), name=form.name.data,
                                   postal_index=form.postal_index.data if level in directory.HAS_INDEX else None)
        except BillingError as exc:
            apply_errors(form, exc, {"number": "name"})
            status = exc.status
        else:
            flash(_("The entry is saved."), "success")
            return redirect(back)
    elif request.method == "POST":
        status = 422
    info = directory.building_info(entry.id) if level == "building" else None
    return render_template("admin/addresses/entry.html", form=form, entry=entry, level=level, back=back,
                           names=LEVEL_NAMES, has_index=level in directory.HAS_INDEX, info=info), status


def _back_url(level, entry) -> str:
    if level == "region":
        return url_for("admin.addresses")
    if level == "city":
        return url_for("admin.addresses", region=entry.region_id)
    if level == "street":
        return url_for("admin.addresses", region=entry.city.region_id, city=entry.city_id)
    street = entry.street
    return url_for("admin.addresses", region=street.city.region_id, city=street.city_id, street=street.id)


# --- the picker's endpoint ------------------------------------------------------------


@bp.route("/addresses/lookup/<level>", methods=["GET", "POST"])
@requires("subscribers.edit")
def address_lookup(level):
    """GET: entries of `level` under `parent` whose name contains `q`, as
    JSON [{id, name, postal_index}] or, with format=html, as <option>s.
    POST (name, parent, postal_index): add a missing entry in place (seed
    002 «Добавить новую запись») → 201 with the entry, or 422/409 with
    field messages."""
    if level not in directory.LEVELS:
        abort(404)
    if request.method == "POST":
        source = request.get_json(silent=True) or request.form
        try:
            entry = directory.add_entry(level, source.get("parent"), source.get("name"), actor=current_actor(),
                                        postal_index=source.get("postal_index") or "")
        except BillingError as exc:
            fields = {k: _(v) for k, v in exc.fields.items()}
            return jsonify({"error": translate_error(exc), "fields": fields}), exc.status
        return jsonify({"id": entry.id, "name": getattr(entry, directory.NAME_FIELD[level]),
                        "postal_index": getattr(entry, "postal_index", "")}), 201
    limit = request.args.get("limit", "50")
    limit = min(int(limit), 500) if limit.isdigit() and int(limit) > 0 else 50
    rows = directory.children(level, request.args.get("parent"), q=request.args.get("q", ""), limit=limit)
    if request.args.get("format") == "html":
        options = "".join(f'<option value="{r["id"]}">{escape(r["name"])}</option>' for r in rows)
        return options, 200, {"Content-Type": "text/html; charset=utf-8"}
    return jsonify(rows)


@bp.route("/addresses/building/<int:building_id>.json")
@requires("subscribers.edit")
def address_building(building_id):
    """The whole path of a building with its effective postal index and the
    one-line address text."""
    try:
        return jsonify(directory.building_info(building_id))
    except BillingError:
        abort(404)
