"""Cabinet: "Pay online" through ЮKassa (DESIGN §10–11): amount (by
default what the next month needs beyond the funds), bank card or СБП,
redirect to ЮKassa's confirmation page; the return page shows the
payment's state after reading it back.  With a saved card the subscriber
switches autopayment on or off or removes the card; both take effect at
once.  The page and its menu entry exist only while an enabled ЮKassa
system does."""

from __future__ import annotations

import urllib.parse

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired

from lanbill import CONTENT_SECURITY_POLICY
from lanbill.cabinet import bp
from lanbill.cabinet.common import actor, cabinet_required, me, own_or_404, render_page, show_errors
from lanbill.cabinet.menu import SHOWN_WHEN
from lanbill.customers import cabinet
from lanbill.db import Prepared
from lanbill.errors import BillingError
from lanbill.models import PaymentSystem
from lanbill.models.online_payments import OnlinePayment
from lanbill.paysys import autopay, systems, yookassa

METHOD_LABELS = {"bank_card": _l("Bank card"), "sbp": _l("СБП: by QR code or in your bank's app")}
NOT_FINISHED = _l("The payment is not finished yet. If you have paid, the money will arrive within minutes.")
STATE_TEXT = {
    "succeeded": _l("The payment is received and credited to the balance."),
    "pending": NOT_FINISHED,
    "waiting_for_capture": NOT_FINISHED,
    "canceled": _l("The payment did not go through; no money was taken."),
    "failed": _l("The payment could not be created; no money was taken."),
    "new": _l("The payment could not be created; no money was taken."),
}


class PayOnlineForm(FlaskForm):
    agreement = SelectField(_l("Agreement"), coerce=int)
    amount = StringField(_l("Amount"), validators=[DataRequired(message=_l("Required."))])
    method = RadioField(_l("How to pay"), choices=list(METHOD_LABELS.items()), default="bank_card")
    save_card = BooleanField(_l("Save the card for autopayment"))


class AutopaymentForm(FlaskForm):
    agreement = HiddenField()
    fixed_amount = StringField(_l("Fixed amount (empty: what the next month lacks)"))


def online_system():
    """The enabled ЮKassa system the cabinet pays through, or None."""
    found = systems.enabled_systems("yookassa")
    return found[0] if found else None


# The menu asks on every page: one prepared look-up of an id, not the
# systems' rows (their secrets are not decrypted to draw a menu).
_any_online_system = Prepared(lambda: PaymentSystem.select(PaymentSystem.id).where(
    (PaymentSystem.kind == "yookassa") & (PaymentSystem.enabled == True)).limit(1))  # noqa: E712

SHOWN_WHEN["cabinet.pay_online"] = lambda: bool(_any_online_system())


# ЮKassa's checkout page, where "Pay" redirects the browser to
CHECKOUT_ORIGINS = ("https://yoomoney.ru", "https://*.yoomoney.ru")


def _with_checkout_allowed(page, system):
    """The page's answer with a Content-Security-Policy whose form-action
    also allows ЮKassa's checkout (and the origin of the system's api_url):
    the browser checks the redirect after the form against it."""
    response = make_response(page)
    parts = urllib.parse.urlsplit((system.options or {}).get("api_url") or systems.YOOKASSA_API_URL)
    origins = " ".join([*CHECKOUT_ORIGINS, f"{parts.scheme}://{parts.netloc}"])
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origins}")
    return response


def _default_amount(agreement) -> str:
    amount = systems.next_period_shortfall(agreement) or systems.next_period_need(agreement)
    return str(amount).replace(".", ",") if amount else ""


@bp.route("/pay-online", methods=["GET", "POST"])
@cabinet_required
def pay_online():
    system = online_system() or abort(404)
    agreements = [a for a in cabinet.own_agreements(me()) if a.closed_at is None]
    if not agreements:
        abort(404)
    form = PayOnlineForm()
    form.agreement.choices = [(a.id, a.number) for a in agreements]
    methods = (system.options or {}).get("methods", list(systems.ONLINE_METHODS))
    form.method.choices = [(m, METHOD_LABELS[m]) for m in methods]
    chosen = request.args.get("agreement", type=int) or agreements[0].id
    if request.method == "GET":
        agreement = own_or_404(cabinet.own_agreement, chosen)
        form.agreement.data = agreement.id
        form.amount.data = _default_amount(agreement)
        form.method.data = methods[0]
    status = 200
    if form.validate_on_submit():
        agreement = own_or_404(cabinet.own_agreement, form.agreement.data)
        return_url = url_for("cabinet.pay_online_return", key="KEY", _external=True)
        try:
            online = yookassa.create_payment(system, agreement, form.amount.data, method=form.method.data,
                                             return_url=return_url, save_method=form.save_card.data)
        except BillingError as exc:
            show_errors(form, exc)
            status = exc.status
        except yookassa.ProviderUnavailable:
            form.form_errors = [_("The payment service is not answering. Please try again in a few minutes.")]
            status = 503
        else:
            if online.confirmation_url:
                return redirect(online.confirmation_url)
            return redirect(url_for("cabinet.pay_online_return", key=online.idempotence_key))
    elif request.method == "POST":
        status = 422
    autopayments = [(a, autopay.autopayment_of(a)) for a in agreements]
    page = render_page("cabinet/pay.html", status, form=form, system=system,
                       autopayments=[(a, s, AutopaymentForm(agreement=a.id, fixed_amount=_amount_text(s)))
                                     for a, s in autopayments if s is not None],
                       allow_save=bool((system.options or {}).get("autopay", True)) and "bank_card" in methods)
    return _with_checkout_allowed(page, system)


def _amount_text(settings) -> str:
    return str(settings.fixed_amount).replace(".", ",") if settings and settings.fixed_amount else ""


@bp.route("/pay-online/return/<key>")
@cabinet_required
def pay_online_return(key):
    """Where ЮKassa sends the subscriber back: the payment read back."""
    online = OnlinePayment.get_or_none(OnlinePayment.idempotence_key == key) or abort(404)
    agreement = own_or_404(cabinet.own_agreement, online.agreement_id)
    try:
        online = yookassa.refresh(online)
    except yookassa.ProviderUnavailable:
        pass  # shown as it stands; the notification books it later
    return render_page("cabinet/pay_return.html", online=online, agreement=agreement,
                       state=STATE_TEXT.get(online.status, STATE_TEXT["pending"]))


@bp.route("/pay-online/autopayment", methods=["POST"])
@cabinet_required
def autopayment():
    """Switch autopayment on or off (the button pressed), or remove the card."""
    form = AutopaymentForm()
    if not form.validate_on_submit():
        abort(400)
    agreement = own_or_404(cabinet.own_agreement, form.agreement.data)
    action = request.form.get("action")
    try:
        if action == "remove":
            autopay.remove_card(agreement, actor=actor())
            flash(_("The card is removed; autopayment is off."), "success")
        elif action in ("on", "off"):
            autopay.set_autopayment(agreement, action == "on", actor=actor(), fixed_amount=form.fixed_amount.data)
            flash(_("Autopayment is on.") if action == "on" else _("Autopayment is off."), "success")
        else:
            abort(400)
    except BillingError as exc:
        flash(_(exc.message), "error")
    return redirect(url_for("cabinet.pay_online", agreement=agreement.id))
