"""Cabinet: notification settings (DESIGN §10) — the e-mail address and
mobile number the subscriber confirms by a code, and which events come
by which channel (lanbill.notify.contacts)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired

from lanbill.cabinet import bp
from lanbill.cabinet.common import actor, cabinet_required, me, render_page, show_errors
from lanbill.cabinet.forms import ActionForm
from lanbill.errors import BillingError
from lanbill.models.notify import CHANNELS
from lanbill.notify import contacts
from lanbill.notify.texts import CHOOSABLE_EVENTS, EVENT_LABELS

CHANNEL_TITLES = {"email": _l("E-mail"), "sms": _l("SMS")}


class ContactForm(FlaskForm):
    address = StringField(_l("Address"), validators=[DataRequired(message=_l("Required."))])


class CodeForm(FlaskForm):
    code = StringField(_l("Code from the message"), validators=[DataRequired(message=_l("Enter the code."))])


class ChoicesForm(FlaskForm):
    """One check box per event and channel, named "<event>__<channel>"."""


for _event in CHOOSABLE_EVENTS:
    for _channel in CHANNELS:
        setattr(ChoicesForm, f"{_event}__{_channel}", BooleanField(EVENT_LABELS[_event]))


def _channel_or_404(channel: str) -> str:
    if channel not in CHANNELS:
        abort(404)
    return channel


def _page(status=200, forms=None, codes=None, choices=None):
    subscriber = me()
    found = contacts.contacts_of(subscriber.id)
    forms = forms or {}
    codes = codes or {}
    for channel in CHANNELS:
        if channel not in forms:
            contact = found.get(channel)
            given = contact.address if contact else (subscriber.email if channel == "email" else subscriber.phone)
            forms[channel] = ContactForm(prefix=channel, formdata=None, data={"address": given or ""})
        codes.setdefault(channel, CodeForm(prefix=f"code-{channel}", formdata=None))
    if choices is None:
        chosen = contacts.choices_of(subscriber.id)
        choices = ChoicesForm(formdata=None, data={f"{e}__{c}": on for (e, c), on in chosen.items()})
    return render_page("cabinet/notifications.html", status, contacts=found, forms=forms, codes=codes,
                       choices=choices, events=CHOOSABLE_EVENTS, channels=CHANNELS, channel_titles=CHANNEL_TITLES,
                       event_labels=EVENT_LABELS, remove_form=ActionForm(prefix="remove"))


@bp.route("/settings/notifications")
@cabinet_required
def notifications():
    """Contacts and channel choices."""
    return _page()


@bp.route("/settings/notifications/<channel>/code", methods=["POST"])
@cabinet_required
def notification_code(channel):
    """Give an address for a channel: a confirmation code is sent to it."""
    channel = _channel_or_404(channel)
    form = ContactForm(prefix=channel)
    if form.validate_on_submit():
        try:
            contact = contacts.request_code(me(), channel, form.address.data, actor=actor())
        except BillingError as exc:
            show_errors(form, exc)
        else:
            flash(_("A code is sent to %(address)s. Enter it below.", address=contact.address), "success")
            return redirect(url_for("cabinet.notifications"))
    return _page(422, forms={channel: form})


@bp.route("/settings/notifications/<channel>/confirm", methods=["POST"])
@cabinet_required
def notification_confirm(channel):
    """Enter the code: the address is confirmed."""
    channel = _channel_or_404(channel)
    form = CodeForm(prefix=f"code-{channel}")
    if form.validate_on_submit():
        try:
            contacts.confirm(me(), channel, form.code.data, actor=actor())
        except BillingError as exc:
            show_errors(form, exc)
        else:
            flash(_("The address is confirmed: notifications will come to it."), "success")
            return redirect(url_for("cabinet.notifications"))
    return _page(422, codes={channel: form})


@bp.route("/settings/notifications/<channel>/remove", methods=["POST"])
@cabinet_required
def notification_remove(channel):
    channel = _channel_or_404(channel)
    if not ActionForm(prefix="remove").validate_on_submit():
        abort(400)
    contacts.remove_contact(me(), channel, actor=actor())
    flash(_("The address is removed: no notifications will come to it."), "success")
    return redirect(url_for("cabinet.notifications"))


@bp.route("/settings/notifications/choices", methods=["POST"])
@cabinet_required
def notification_choices():
    """Which events come by which channel."""
    form = ChoicesForm()
    if not form.validate_on_submit():
        return _page(422, choices=form)
    chosen = {(e, c) for e in CHOOSABLE_EVENTS for c in CHANNELS if getattr(form, f"{e}__{c}").data}
    contacts.set_choices(me(), chosen, actor=actor())
    flash(_("Notification settings are saved."), "success")
    return redirect(url_for("cabinet.notifications"))
