"""Admin: the printable agreement (договор) as a PDF from the agreement's
page, and the screen where staff edit its text
(lanbill.documents.agreement_pdf holds the rule)."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, visible_agreement
from lanbill.admin.tables import attachment_header
from lanbill.documents import agreement_pdf
from lanbill.errors import BillingError
from lanbill.models import Setting


class AgreementTextForm(FlaskForm):
    text = TextAreaField(_l("Text of the agreement"))


@bp.route("/agreements/<int:agreement_id>/agreement.pdf")
@requires("subscribers.view")
def agreement_print(agreement_id):
    """The agreement to print and sign; the passport only for staff who
    may see personal data (otherwise a line to fill in by hand)."""
    agreement = visible_agreement(agreement_id)
    pdf = agreement_pdf.agreement_pdf(agreement, current_app.instance_path,
                                      with_passport=current_user.can("personal_data.view"), actor=current_actor())
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = attachment_header(f"agreement-{agreement.number}.pdf").replace(
        "attachment", "inline", 1)
    return response


@bp.route("/agreement-text", methods=["GET", "POST"])
@requires("settings.edit")
def agreement_text():
    """Edit the agreement's text: plain paragraphs with {{ values }}; an
    empty text restores the default one."""
    form = AgreementTextForm()
    status = 200
    if request.method == "GET":
        form.text.data = agreement_pdf.agreement_text()
    elif form.validate_on_submit():
        text = form.text.data or ""
        if request.form.get("action") == "default":
            text = ""
        try:
            agreement_pdf.save_agreement_text(text, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The text of the agreement is saved."), "success")
            return redirect(url_for("admin.agreement_text"))
    else:
        status = 422
    is_default = Setting.get_or_none(Setting.key == agreement_pdf.SETTING_KEY) is None or \
        not Setting.get(Setting.key == agreement_pdf.SETTING_KEY).value.strip()
    return render_template("admin/agreements/text.html", form=form, variables=agreement_pdf.VARIABLES,
                           is_default=is_default), status
