"""Admin: an operator's automatic numbering of payment documents
(«Автоматическая нумерация платёжных документов»), set on the operator's
page; the rule lives in lanbill.billing.payment_numbers."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import Length

from lanbill.admin import bp
from lanbill.admin.common import current_actor, requires, translate_error_in_full
from lanbill.billing import payment_numbers
from lanbill.errors import BillingError
from lanbill.models import Operator


class PaymentNumberingForm(FlaskForm):
    is_enabled = BooleanField(_l("Automatic numbering of payment documents"))
    prefix = StringField(_l("Prefix of payment document numbers"), validators=[Length(max=16)])
    next_number = StringField(_l("Next number"))
    version = HiddenField()


def numbering_form(operator_id: int) -> PaymentNumberingForm:
    """The form filled from the operator's current choice."""
    numbering = payment_numbers.numbering_of(operator_id)
    return PaymentNumberingForm(prefix="numbering", data={
        "is_enabled": numbering.is_enabled, "prefix": numbering.prefix, "next_number": str(numbering.next_number),
        "version": str(numbering.version)})


@bp.route("/operators/<int:operator_id>/payment-numbering", methods=["POST"])
@requires("settings.edit")
def operator_payment_numbering(operator_id):
    """Save the choice; a refusal is shown on top of the operator's page
    and nothing is changed."""
    operator = Operator.get_or_none(Operator.id == operator_id) or abort(404)
    form = PaymentNumberingForm(prefix="numbering")
    if not form.validate_on_submit():
        flash(_("The request was not understood; nothing is changed."), "error")
    else:
        raw_version = (form.version.data or "").strip()
        try:
            payment_numbers.set_numbering(operator.id, enabled=form.is_enabled.data, prefix=form.prefix.data,
                                          next_number=form.next_number.data, actor=current_actor(),
                                          version=int(raw_version) if raw_version.isdigit() and raw_version != "0"
                                          else None)
        except BillingError as exc:
            flash(translate_error_in_full(exc), "error")
        else:
            flash(_("The numbering of payment documents is saved."), "success")
    return redirect(url_for("admin.operator_edit", operator_id=operator.id) + "#payment-numbering")
