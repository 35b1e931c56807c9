"""Payment card screens (DESIGN §11): generate a series, print its sheet
(PDF with cut marks, once: see lanbill.paysys.cards), list series and
cards with who activated what, block a card or a series; reset a
subscriber's wrong-code lock.  Permission: payments.create (cards book
payments); the lock reset is subscribers.edit."""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN, fn
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error, visible_subscriber
from lanbill.admin.tariffs import currency_choices
from lanbill.errors import BillingError
from lanbill.models import Operator, Subscriber
from lanbill.models.cards import CardSeries, PaymentCard
from lanbill.paysys import cards
from lanbill.staff import access

STATE_TEXT = {"new": _l("unused"), "used": _l("activated"), "blocked": _l("blocked"), "expired": _l("expired")}


class SeriesForm(FlaskForm):
    count = StringField(_l("Number of cards"), validators=[DataRequired(message=_l("Required."))])
    nominal = StringField(_l("Nominal"), validators=[DataRequired(message=_l("Required."))])
    currency = SelectField(_l("Currency"))
    expires_on = DateField(_l("Valid until"), validators=[DataRequired(message=_l("Not a date."))])
    operator = SelectField(_l("Operator"), validators=[Optional()])
    comment = StringField(_l("Comment"))


def _series_form(**kw) -> SeriesForm:
    form = SeriesForm(**kw)
    currency_choices(form)
    form.operator.choices = [("", "—")] + [(str(o.id), o.name) for o in Operator.select().order_by(Operator.id)]
    return form


def _series_rows():
    used = fn.COUNT(PaymentCard.used_at)
    return list(CardSeries.select(CardSeries, used.alias("used_count"))
                .join(PaymentCard, JOIN.LEFT_OUTER).group_by(CardSeries)
                .order_by(CardSeries.id.desc()))


@bp.route("/cards")
@requires("payments.create")
def card_series_list():
    form = _series_form(formdata=None)
    if not form.expires_on.data:
        form.expires_on.data = dt.date.today().replace(year=dt.date.today().year + 1)
    return render_template("admin/cards/list.html", rows=_series_rows(), form=form)


@bp.route("/cards/new", methods=["POST"])
@requires("payments.create")
def card_series_new():
    form = _series_form()
    status = 422
    if form.validate_on_submit():
        try:
            series = cards.generate_series(count=form.count.data, nominal=form.nominal.data,
                                           currency=form.currency.data, expires_on=form.expires_on.data,
                                           operator=form.operator.data or None, comment=form.comment.data,
                                           actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The series is generated. Print its sheet now: the codes are shown only once."), "success")
            return redirect(url_for("admin.card_series", series_id=series.id))
    return render_template("admin/cards/list.html", rows=_series_rows(), form=form), status


@bp.route("/cards/<int:series_id>")
@requires("payments.create")
def card_series(series_id):
    series = CardSeries.get_or_none(CardSeries.id == series_id) or abort(404)
    state = request.args.get("state", "")
    rows = list(PaymentCard.select().where(PaymentCard.series == series.id).order_by(PaymentCard.serial))
    for card in rows:
        card.state = cards.card_state(card, series)
    if state in STATE_TEXT:
        rows = [c for c in rows if c.state == state]
    owners = {s.id: s for s in Subscriber.select(Subscriber.id, Subscriber.name).where(
        Subscriber.id.in_([c.subscriber_id for c in rows if c.subscriber_id]))}
    visible = {sid for sid in owners if access.can_see_subscriber(current_user, sid)}
    return render_template("admin/cards/series.html", series=series, rows=rows, state=state,
                           state_text=STATE_TEXT, owners=owners, visible=visible)


@bp.route("/cards/<int:series_id>/sheet", methods=["POST"])
@requires("payments.create")
def card_series_sheet(series_id):
    """The PDF sheet of the series — once (the codes are then erased)."""
    series = CardSeries.get_or_none(CardSeries.id == series_id) or abort(404)
    try:
        codes = cards.sheet_codes(series, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.card_series", series_id=series.id))
    from weasyprint import HTML

    html = render_template("documents/cards.html", series=series,
                           cards=[(card, cards.format_code(code)) for card, code in codes])
    pdf = HTML(string=html, base_url=request.url_root).write_pdf()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="cards-{series.id}.pdf"', "Cache-Control": "no-store"})


@bp.route("/cards/<int:series_id>/block", methods=["POST"])
@requires("payments.create")
def card_series_block(series_id):
    series = CardSeries.get_or_none(CardSeries.id == series_id) or abort(404)
    stopped = cards.block_series(series, actor=current_actor())
    flash(_("The series is blocked; unused cards stopped: %(count)s.", count=stopped), "success")
    return redirect(url_for("admin.card_series", series_id=series.id))


@bp.route("/cards/card/<int:card_id>/block", methods=["POST"])
@requires("payments.create")
def card_block(card_id):
    card = PaymentCard.get_or_none(PaymentCard.id == card_id) or abort(404)
    if cards.block_card(card, actor=current_actor()):
        flash(_("The card %(serial)s is blocked.", serial=card.serial), "success")
    else:
        flash(_("The card %(serial)s is used or already blocked; nothing is changed.", serial=card.serial), "error")
    return redirect(url_for("admin.card_series", series_id=card.series_id))


@bp.route("/subscribers/<int:subscriber_id>/card-lock/reset", methods=["POST"])
@requires("subscribers.edit")
def subscriber_card_lock_reset(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    cards.reset_lock(subscriber, actor=current_actor())
    flash(_("Payment-card activation is unlocked and the wrong-code counter is reset."), "success")
    return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#cabinet")
