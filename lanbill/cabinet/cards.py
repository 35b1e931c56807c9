"""Payment card activation in the cabinet («карты оплаты», DESIGN §10):
serial + code onto one of the subscriber's agreements (paysys.cards)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from lanbill.cabinet import bp
from lanbill.cabinet.common import actor, cabinet_required, me, render_page, show_errors
from lanbill.cabinet.forms import CardForm
from lanbill.customers import cabinet
from lanbill.errors import BillingError, NotFound
from lanbill.money import format_money
from lanbill.paysys import cards


@bp.route("/cards", methods=["GET", "POST"])
@cabinet_required
def cards_activate():
    """Activate a card; the payment is booked at once."""
    agreements = [a for a in cabinet.own_agreements(me()) if a.closed_at is None]
    form = CardForm()
    form.agreement.choices = [(str(a.id), a.number) for a in agreements]
    if request.method == "GET" and request.args.get("agreement"):
        form.agreement.data = request.args["agreement"]
    locked = me().card_activation_blocked
    if agreements and form.validate_on_submit():
        try:
            agreement = cabinet.own_agreement(me(), form.agreement.data)
            payment, created = cards.activate(me(), agreement, form.serial.data, form.code.data, actor=actor())
        except NotFound:
            form.agreement.errors = [_("Choose one of your agreements.")]
        except BillingError as exc:
            show_errors(form, exc)
        else:
            if created:
                flash(_("The card is activated: %(amount)s is paid onto agreement № %(number)s.",
                        amount=format_money(payment.amount), number=agreement.number), "success")
            else:
                flash(_("This card was already activated onto agreement № %(number)s; nothing is paid twice.",
                        number=agreement.number), "success")
            return redirect(url_for("cabinet.login"))
        return render_page("cabinet/cards.html", 422, form=form, agreements=agreements,
                           locked=me().card_activation_blocked)
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/cards.html", status, form=form, agreements=agreements, locked=locked)
