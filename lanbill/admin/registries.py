"""Payment registries screens (DESIGN §11, DOMAIN-RULES §3.4): the list,
uploading a file for a registry payment system, the dry run with every row
(its progress while the worker reads a long file), posting, annulling as a
whole, discarding a dry run and matching an unmatched row by hand.

Rows are the bank's, listed to whoever handles registries; an agreement
outside the manager's groups is shown without its number, posting and
annulling need every agreement of the registry to be within reach, and a
row is matched by hand only to a visible agreement (lanbill.staff.access)."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from peewee import JOIN
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from lanbill.admin import bp
from lanbill.admin.common import current_actor, requires, translate_error, translate_error_in_full
from lanbill.admin.tables import csv_response
from lanbill.errors import BillingError
from lanbill.jobs import post_registry, read_registry
from lanbill.models import Agreement, Subscriber
from lanbill.models.paysys import PaymentSystem
from lanbill.models.registries import RegistryImport, RegistryRow
from lanbill.paysys import registry_booking
from lanbill.staff import access

ROWS_PER_PAGE = 200
LIST_PER_PAGE = 50
MAX_UPLOAD = 20 * 1024 * 1024
STATUS_LABELS = {
    "reading": _l("Reading"), "dry_run": _l("Dry run"), "posting": _l("Posting"), "posted": _l("Posted"),
    "annulled": _l("Annulled"), "failed": _l("Not read"), "discarded": _l("Discarded"),
}
ROW_STATUS_LABELS = {"matched": _l("Matched"), "duplicate": _l("Duplicate"), "unmatched": _l("Unmatched")}


class RegistryUploadForm(FlaskForm):
    system = SelectField(_l("Payment system"), coerce=str, validators=[DataRequired(message=_l("Required."))])
    file = FileField(_l("Registry file"))


class RegistryAnnulForm(FlaskForm):
    reason = StringField(_l("Reason for annulling"),
                         validators=[DataRequired(message=_l("Required.")), Length(max=500)])


class RegistryMatchForm(FlaskForm):
    agreement = StringField(_l("Agreement number"),
                            validators=[DataRequired(message=_l("Required.")), Length(max=64)])


def _systems():
    return list(PaymentSystem.select().where((PaymentSystem.kind == "registry") & (PaymentSystem.enabled == True))  # noqa: E712
                .order_by(PaymentSystem.name))


def _upload_form(formdata=None) -> RegistryUploadForm:
    form = RegistryUploadForm(formdata=formdata) if formdata is not None else RegistryUploadForm()
    form.system.choices = [(s.code, f"{s.name} ({s.code})") for s in _systems()]
    return form


def _visible_registry(registry_id) -> RegistryImport:
    registry = (RegistryImport.select(RegistryImport, PaymentSystem).join(PaymentSystem)
                .where(RegistryImport.id == registry_id).first())
    if registry is None:
        abort(404)
    return registry


def _error_text(registry: RegistryImport) -> str:
    """The registry's stored refusal in the UI language."""
    if not registry.error:
        return ""
    if registry.status == "failed":
        return _(registry.error) + (f" ({registry.error_detail})" if registry.error_detail else "")
    try:
        params = json.loads(registry.error_detail) if registry.error_detail else {}
    except ValueError:
        params = {}
    return _(registry.error, **params) if params else _(registry.error)


def reason_text(row: RegistryRow) -> str:
    if not row.reason:
        return ""
    text = _(row.reason)
    return f"{text} ({row.reason_detail})" if row.reason_detail else text


@bp.route("/registries")
@requires("payments.create")
def registries():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = (RegistryImport.select(RegistryImport.id, RegistryImport.file_name, RegistryImport.status,
                                   RegistryImport.created_at, RegistryImport.created_by, RegistryImport.rows_total,
                                   RegistryImport.matched_count, RegistryImport.duplicate_count,
                                   RegistryImport.unmatched_count, RegistryImport.booked_amount,
                                   RegistryImport.matched_amount, RegistryImport.same_file_as, PaymentSystem)
             .join(PaymentSystem).order_by(RegistryImport.id.desc())
             .paginate(page, LIST_PER_PAGE + 1))
    found = list(query)
    return render_template("admin/registries/list.html", registries=found[:LIST_PER_PAGE],
                           has_next=len(found) > LIST_PER_PAGE, page=page, form=_upload_form(),
                           status_labels=STATUS_LABELS)


@bp.route("/registries", methods=["POST"])
@requires("payments.create")
def registries_upload():
    form = _upload_form(request.form)
    upload = request.files.get("file")
    content = upload.read(MAX_UPLOAD + 1) if upload else b""
    if form.validate() and (not upload or not upload.filename):
        form.file.errors = list(form.file.errors) + [_("Choose the file.")]
    elif len(content) > MAX_UPLOAD:
        form.file.errors = list(form.file.errors) + [_("The file is too large.")]
    if form.errors or form.file.errors:
        return render_template("admin/registries/list.html", registries=[], has_next=False, page=1, form=form,
                               status_labels=STATUS_LABELS), 422
    system = PaymentSystem.get_or_none(PaymentSystem.code == form.system.data)
    try:
        registry = registry_booking.start_import(system, upload.filename, content, actor=current_actor())
    except BillingError as exc:
        form.file.errors = list(form.file.errors) + [translate_error_in_full(exc)]
        return render_template("admin/registries/list.html", registries=[], has_next=False, page=1, form=form,
                               status_labels=STATUS_LABELS), exc.status
    read_registry(registry.id)  # the worker reads it; the page shows the progress
    return redirect(url_for("admin.registry_view", registry_id=registry.id))


def _rows_page(registry, status: str, page: int):
    query = (RegistryRow.select(RegistryRow, Agreement).join(Agreement, JOIN.LEFT_OUTER)
             .where(RegistryRow.registry == registry.id).order_by(RegistryRow.line))
    if status in ROW_STATUS_LABELS:
        query = query.where(RegistryRow.status == status)
    rows = list(query.paginate(page, ROWS_PER_PAGE + 1))
    has_next = len(rows) > ROWS_PER_PAGE
    rows = rows[:ROWS_PER_PAGE]
    visible = access.visible_agreement_id_set(current_user, [r.agreement_id for r in rows])
    for row in rows:
        row.agreement_visible = row.agreement_id is not None and (visible is None or row.agreement_id in visible)
        row.text_visible = access.registry_row_text_visible(visible, row.agreement_id)
    return rows, has_next


@bp.route("/registries/<int:registry_id>")
@requires("payments.create")
def registry_view(registry_id):
    registry = _visible_registry(registry_id)
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, has_next = ([], False)
    if registry.status not in ("reading", "failed"):
        rows, has_next = _rows_page(registry, status, page)
    problem = registry_booking.control_problem(registry) if registry.status == "dry_run" else None
    control_text = _(problem[0], **problem[1]) if problem else ""
    return render_template(
        "admin/registries/view.html", registry=registry, rows=rows, has_next=has_next, page=page,
        status=status, status_labels=STATUS_LABELS, row_status_labels=ROW_STATUS_LABELS, reason_text=reason_text,
        control_text=control_text, error_text=_error_text(registry), annul_form=RegistryAnnulForm(prefix="annul"),
        match_form=RegistryMatchForm(prefix="match"),
        within_reach=access.registry_within_reach(current_user, registry.id),
        same_file=RegistryImport.get_or_none(RegistryImport.id == registry.same_file_as)
        if registry.same_file_as else None)


@bp.route("/registries/<int:registry_id>/progress")
@requires("payments.create")
def registry_progress(registry_id):
    """The progress of a dry run or a posting, for a page that polls."""
    registry = _visible_registry(registry_id)
    return {"status": registry.status, "done": registry.rows_done, "total": registry.rows_total}


@bp.route("/registries/<int:registry_id>/rows.csv")
@requires("payments.create")
def registry_rows_csv(registry_id):
    registry = _visible_registry(registry_id)
    query = (RegistryRow.select(RegistryRow, Agreement).join(Agreement, JOIN.LEFT_OUTER)
             .where(RegistryRow.registry == registry.id).order_by(RegistryRow.line))

    def rows():
        yield [_("Line"), _("Result"), _("Reason"), _("Transaction id"), _("Date"), _("Amount"), _("Agreement"),
               _("Payment"), _("Comment")]
        for chunk_start in range(0, registry.rows_total or 0, 1000):
            chunk = list(query.paginate(chunk_start // 1000 + 1, 1000))
            visible = access.visible_agreement_id_set(current_user, [r.agreement_id for r in chunk])
            for row in chunk:
                shown = row.agreement_id is not None and (visible is None or row.agreement_id in visible)
                text = access.registry_row_text_visible(visible, row.agreement_id)
                yield [row.line, ROW_STATUS_LABELS.get(row.status, row.status), reason_text(row) if text else "",
                       row.transaction_id, row.paid_on.isoformat() if row.paid_on else "",
                       str(row.amount) if row.amount is not None else "",
                       row.agreement.number if shown else (row.account_text if text else "—"),
                       row.payment_id or "", row.comment if text else ""]

    return csv_response(rows(), f"registry-{registry.id}.csv")


@bp.route("/registries/<int:registry_id>/post", methods=["POST"])
@requires("payments.create")
def registry_post(registry_id):
    registry = _visible_registry(registry_id)
    if not access.registry_within_reach(current_user, registry.id):
        abort(403)
    try:
        registry_booking.mark_posting(registry.id)
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.registry_view", registry_id=registry.id))
    post_registry(registry.id, current_actor())  # one transaction in the worker; the page shows its state
    fresh = RegistryImport.get_by_id(registry.id)
    if fresh.status == "posted":
        flash(_("The registry is posted: %(count)s payments booked.", count=fresh.booked_count), "success")
    return redirect(url_for("admin.registry_view", registry_id=registry.id))


@bp.route("/registries/<int:registry_id>/annul", methods=["POST"])
@requires("payments.create", "payments.cancel")
def registry_annul(registry_id):
    registry = _visible_registry(registry_id)
    if not access.registry_within_reach(current_user, registry.id):
        abort(403)
    form = RegistryAnnulForm(prefix="annul")
    try:
        registry_booking.annul_import(registry.id, actor=current_actor(), reason=form.reason.data or "")
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The registry is annulled: every payment of it is reversed."), "success")
    return redirect(url_for("admin.registry_view", registry_id=registry.id))


@bp.route("/registries/<int:registry_id>/discard", methods=["POST"])
@requires("payments.create")
def registry_discard(registry_id):
    registry = _visible_registry(registry_id)
    try:
        registry_booking.discard_import(registry.id, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The dry run is discarded: nothing of it will be booked."), "success")
    return redirect(url_for("admin.registry_view", registry_id=registry.id))


@bp.route("/registries/rows/<int:row_id>/match", methods=["POST"])
@requires("payments.create")
def registry_row_match(row_id):
    row = RegistryRow.get_or_none(RegistryRow.id == row_id)
    if row is None:
        abort(404)
    registry = _visible_registry(row.registry_id)
    form = RegistryMatchForm(prefix="match")
    back = url_for("admin.registry_view", registry_id=registry.id, status="unmatched") + f"#row-{row.id}"
    if not form.validate():
        flash(_("Enter the agreement number."), "error")
        return redirect(back)
    query = Agreement.select(Agreement).join(Subscriber).where(Agreement.number == form.agreement.data.strip())
    if registry.system.operator_id:
        query = query.where(Agreement.operator == registry.system.operator_id)
    found = list(access.scope(query, current_user))
    if len(found) != 1:
        flash(_("No agreement with this number.") if not found else _("Several agreements have this number."),
              "error")
        return redirect(back)
    try:
        registry_booking.match_row(row.id, found[0], actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The row is matched to agreement %(number)s.", number=found[0].number), "success")
    return redirect(back)
