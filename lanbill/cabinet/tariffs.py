"""Tariff change from the next period (DESIGN §10): for each account the
tariffs staff allow from its current tariff; the choice becomes a planned
change (billing.tariff_choice), which the subscriber may cancel."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from lanbill.billing import tariff_choice
from lanbill.cabinet import bp, cabinet_datetime
from lanbill.cabinet.common import actor, cabinet_required, me, own_or_404, render_page, translate_error
from lanbill.cabinet.forms import ActionForm, TariffChoiceForm
from lanbill.customers import cabinet
from lanbill.errors import BillingError


def _rows():
    rows = []
    for account in cabinet.own_accounts(me()):
        form = TariffChoiceForm(prefix=f"a{account.id}")
        options = tariff_choice.offered(account.tariff_id)
        form.tariff.choices = [(str(t.id), t.name) for t in options]
        rows.append({"account": account, "options": options, "form": form,
                     "pending": cabinet.next_tariff_change(account)})
    return rows


@bp.route("/tariffs")
@cabinet_required
def tariffs():
    return render_page("cabinet/tariffs.html", rows=_rows(), start=tariff_choice.next_period_start(),
                       cancel_form=ActionForm(prefix="cancel"), me_label=actor().label)


@bp.route("/accounts/<int:account_id>/tariff", methods=["POST"])
@cabinet_required
def tariff_choose(account_id):
    account = own_or_404(cabinet.own_account, account_id)
    form = TariffChoiceForm(prefix=f"a{account.id}")
    form.tariff.choices = [(str(t.id), t.name) for t in tariff_choice.offered(account.tariff_id)]
    if not form.validate_on_submit():
        flash(_("The request was not understood; nothing is changed."), "error")
        return redirect(url_for("cabinet.tariffs"))
    try:
        change = tariff_choice.choose(account, form.tariff.data, actor=actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("cabinet.tariffs"))
    flash(_("From %(date)s the account %(login)s works at the tariff %(tariff)s.",
            date=cabinet_datetime(tariff_choice.next_period_start()), login=account.login,
            tariff=change.tariff.name), "success")
    return redirect(url_for("cabinet.tariffs"))


@bp.route("/accounts/<int:account_id>/tariff/cancel", methods=["POST"])
@cabinet_required
def tariff_cancel(account_id):
    account = own_or_404(cabinet.own_account, account_id)
    form = ActionForm(prefix="cancel")
    if not form.validate_on_submit():
        flash(_("The request was not understood; nothing is changed."), "error")
        return redirect(url_for("cabinet.tariffs"))
    try:
        tariff_choice.cancel_own(account, form.value.data, actor=actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("cabinet.tariffs"))
    flash(_("The planned tariff change is cancelled."), "success")
    return redirect(url_for("cabinet.tariffs"))
