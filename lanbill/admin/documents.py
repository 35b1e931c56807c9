"""Documents on the agreement's page (issue, list, download, cancel with
an optional correction) and the screen of the monthly runs with their
progress and the month's documents as one PDF or ZIP (DESIGN §12).

Every route asks lanbill.staff.access: a document of a subscriber outside
the manager's groups is answered 404, and the batch holds only visible
ones."""

from __future__ import annotations

import datetime as dt

from flask import abort, after_this_request, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error, visible_agreement
from lanbill.clock import today
from lanbill.documents import batch, issue, monthly
from lanbill.errors import BillingError
from lanbill.jobs import issue_documents_for_month
from lanbill.models import Document, DocumentRun, DocumentTemplate
from lanbill.staff import access

KIND_LABELS = {
    "invoice": _l("Invoice"),
    "prepayment_invoice": _l("Prepayment invoice"),
    "act": _l("Act of services"),
    "vat_invoice": _l("VAT invoice"),
    "upd": _l("UPD (universal transfer document)"),
    "reconciliation": _l("Reconciliation statement"),
}
STATE_LABELS = {"issued": _l("Issued"), "cancelled": _l("Cancelled")}


class IssueDocumentForm(FlaskForm):
    kind = SelectField(_l("Document"), choices=list(KIND_LABELS.items()))
    period_from = StringField(_l("Period from"), validators=[Optional(), Length(max=10)])
    period_to = StringField(_l("Period to"), validators=[Optional(), Length(max=10)])
    month = StringField(_l("Month"), validators=[Optional(), Length(max=7)])
    amount = StringField(_l("Amount"), validators=[Optional(), Length(max=32)])
    template = SelectField(_l("Template"), choices=[], validate_choice=False)


class CancelDocumentForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Required.")), Length(max=500)])
    correct = BooleanField(_l("Issue a corrected document instead"))


class RunForm(FlaskForm):
    month = StringField(_l("Month"), validators=[DataRequired(_l("Required.")), Length(max=7)])


def template_choices():
    rows = DocumentTemplate.select().where(DocumentTemplate.is_active == True).order_by(DocumentTemplate.name)  # noqa: E712
    return [("", _("Standard"))] + [(str(t.id), f"{t.name} ({KIND_LABELS.get(t.kind, t.kind)})") for t in rows]


def _issue_form(formdata=None) -> IssueDocumentForm:
    form = IssueDocumentForm(formdata=formdata, prefix="doc")
    form.template.choices = template_choices()
    if formdata is None:
        form.month.data = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return form


def documents_section(agreement, issue_form=None, cancel_form=None):
    """What the agreement page's «Documents» section shows."""
    documents = list(Document.select().where(Document.agreement == agreement.id)
                     .order_by(Document.date.desc(), Document.id.desc()).limit(200))
    return {"documents": documents, "issue_form": issue_form or _issue_form(), "kind_labels": KIND_LABELS,
            "state_labels": STATE_LABELS, "cancel_form": cancel_form or CancelDocumentForm(prefix="cancel")}


@bp.app_context_processor
def _documents_helpers():
    return {"agreement_documents": documents_section}


def _period_of(form) -> str | None:
    if form.kind.data in ("invoice", "prepayment_invoice") and (form.amount.data or "").strip():
        return None
    if (form.period_from.data or "").strip() or (form.period_to.data or "").strip():
        return f"{(form.period_from.data or '').strip()}..{(form.period_to.data or '').strip()}"
    return (form.month.data or "").strip() or None


@bp.route("/agreements/<int:agreement_id>/documents", methods=["POST"])
@requires("subscribers.view", "payments.create")
def document_issue(agreement_id):
    agreement = visible_agreement(agreement_id)
    form = _issue_form(request.form)
    if form.validate():
        amount = (form.amount.data or "").strip() or None
        try:
            document, created = issue.issue_document(
                agreement, form.kind.data, actor=current_actor(), instance_path=current_app.instance_path,
                period=_period_of(form), amount=amount, template=form.template.data or None)
        except BillingError as exc:
            apply_errors(form, exc, aliases={"period": "month"})
            flash(translate_error(exc), "error")
        else:
            if created:
                flash(_("Document %(number)s is issued.", number=document.number), "success")
            else:
                flash(_("Document %(number)s for this period is issued already.", number=document.number), "info")
            return redirect(url_for("admin.agreement_view", agreement_id=agreement.id) + "#documents")
    return render_template("admin/documents/issue.html", agreement=agreement,
                           **documents_section(agreement, issue_form=form)), 422


def visible_document(document_id) -> Document:
    document = Document.get_or_none(Document.id == document_id)
    if document is None or not access.can_see_document(current_user, document):
        abort(404)
    return document


@bp.route("/documents/<int:document_id>.pdf")
@requires("subscribers.view")
def document_pdf(document_id):
    document = visible_document(document_id)
    path = issue.store_pdf(document, current_app.instance_path)
    return send_file(path, mimetype="application/pdf", as_attachment=request.args.get("inline") != "1",
                     download_name=f"{document.number}.pdf")


@bp.route("/documents/<int:document_id>/cancel", methods=["POST"])
@requires("subscribers.view", "payments.cancel")
def document_cancel(document_id):
    document = visible_document(document_id)
    form = CancelDocumentForm(prefix="cancel")
    if form.validate():
        try:
            if form.correct.data:
                new = issue.correct_document(document, form.reason.data, actor=current_actor(),
                                             instance_path=current_app.instance_path)
                flash(_("Document %(old)s is cancelled; %(new)s is issued instead.", old=document.number,
                        new=new.number), "success")
            else:
                issue.cancel_document(document, form.reason.data, actor=current_actor())
                flash(_("Document %(number)s is cancelled.", number=document.number), "success")
        except BillingError as exc:
            flash(translate_error(exc), "error")
    else:
        flash(_("Say why the document is cancelled."), "error")
    return redirect(url_for("admin.agreement_view", agreement_id=document.agreement_id) + "#documents")


# --- the monthly runs ------------------------------------------------------------------------


@bp.route("/documents/runs", methods=["GET", "POST"])
@requires("reports.view")
def document_runs():
    form = RunForm(prefix="run")
    if request.method == "GET":
        form.month.data = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    elif not current_user.can("payments.create"):
        abort(403)
    elif form.validate():
        try:
            run = monthly.start_run(form.month.data.strip(), actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc, aliases={"period": "month"})
        else:
            issue_documents_for_month(form.month.data.strip(), run.id, current_app.instance_path,
                                      current_app.config["DATABASE_URL"])
            flash(_("The documents of %(month)s are being issued.", month=form.month.data.strip()), "success")
            return redirect(url_for("admin.document_runs"))
    runs = list(DocumentRun.select().order_by(DocumentRun.id.desc()).limit(50))
    return render_template("admin/documents/runs.html", form=form, runs=runs)


@bp.route("/documents/batch")
@requires("reports.view")
def document_batch():
    """?month=YYYY-MM&format=pdf|zip: the month's visible documents in one file."""
    month = request.args.get("month", "")
    file_format = request.args.get("format", "zip")
    try:
        make = batch.month_pdf if file_format == "pdf" else batch.month_zip
        path = make(month, actor=current_actor(), instance_path=current_app.instance_path)
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.document_runs"))

    @after_this_request
    def _remove(response):
        path.unlink(missing_ok=True)
        return response

    suffix = "pdf" if file_format == "pdf" else "zip"
    return send_file(path, mimetype="application/pdf" if suffix == "pdf" else "application/zip",
                     as_attachment=True, download_name=f"documents-{month}.{suffix}")
