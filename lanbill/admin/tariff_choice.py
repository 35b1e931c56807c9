"""The tariff screen's panel «Selectable in the cabinet»: which tariffs a
subscriber on this tariff may choose from the next period (DESIGN §10,
billing.tariff_choice)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from lanbill.admin import bp
from lanbill.admin.common import current_actor, requires, translate_error
from lanbill.billing import tariff_choice
from lanbill.errors import BillingError
from lanbill.models import Tariff


class SelectableForm(FlaskForm):
    selectable = SelectMultipleField(_l("Tariffs a subscriber may choose from this one in the cabinet"),
                                     coerce=int, widget=ListWidget(prefix_label=False),
                                     option_widget=CheckboxInput(), validate_choice=False)


def selectable_form(tariff: Tariff) -> SelectableForm:
    """The panel's form: every other live tariff, and archived ones still
    marked; the marked ones checked."""
    marked = tariff_choice.selectable_ids(tariff)
    form = SelectableForm(formdata=None, data={"selectable": marked})
    form.selectable.choices = [
        (t.id, t.name + (" (" + _("archive") + ")" if t.archived else ""))
        for t in Tariff.select().where((Tariff.id != tariff.id) & ((Tariff.archived == False)  # noqa: E712
                                                                  | Tariff.id.in_(marked or [0])))
        .order_by(Tariff.name, Tariff.id)
    ]
    return form


@bp.app_context_processor
def _selectable_panel():
    return {"tariff_selectable_form": selectable_form}


@bp.route("/tariffs/<int:tariff_id>/selectable", methods=["POST"])
@requires("tariffs.edit")
def tariff_selectable(tariff_id):
    tariff = Tariff.get_or_none(Tariff.id == tariff_id) or abort(404)
    form = SelectableForm()
    form.selectable.choices = [(t.id, t.name) for t in Tariff.select(Tariff.id, Tariff.name)]
    if not form.validate_on_submit():
        flash(_("The request was not understood; nothing is changed."), "error")
    else:
        try:
            tariff_choice.set_selectable(tariff, form.selectable.data, actor=current_actor())
        except BillingError as exc:
            flash(translate_error(exc), "error")
        else:
            flash(_("The tariffs selectable in the cabinet are saved."), "success")
    return redirect(url_for("admin.tariff_edit", tariff_id=tariff.id) + "#selectable")
