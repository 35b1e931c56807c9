"""Notifications for staff (/admin/notifications): the outbox — queued,
sent and failed messages with their errors, retry — the event texts and
the low-balance warning days per group.  Permission settings.edit; a
manager sees the messages of the subscribers their groups cover."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error
from lanbill.admin.tables import Column, Table
from lanbill.errors import BillingError
from lanbill.models import Group
from lanbill.models.notify import CHANNELS, NotifyTemplate, OutboxMessage
from lanbill.notify import outbox, rules, texts
from lanbill.notify.settings import notify_settings
from lanbill.staff import access

STATUS_LABELS = {"queued": _l("Queued"), "sent": _l("Sent"), "failed": _l("Failed")}
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Text"))


class GroupDaysForm(FlaskForm):
    days = StringField(_l("Days ahead"))


def _columns():
    return [
        Column("created_at", _l("Queued at"), sort=OutboxMessage.created_at),
        Column("event", _l("Event"), sort=OutboxMessage.event),
        Column("channel", _l("Channel"), sort=OutboxMessage.channel),
        Column("address", _l("Address"), sort=OutboxMessage.address),
        Column("status", _l("Status"), sort=OutboxMessage.status),
        Column("attempts", _l("Attempts"), sort=OutboxMessage.attempts, css="num"),
        Column("next_attempt_at", _l("Next attempt"), sort=OutboxMessage.next_attempt_at),
        Column("last_error", _l("Error")),
    ]


def _messages():
    return access.scope(OutboxMessage.select(), current_user, OutboxMessage.subscriber_id)


def _visible_message(message_id) -> OutboxMessage:
    message = _messages().where(OutboxMessage.id == message_id).first()
    if message is None:
        abort(404)
    return message


@bp.route("/notifications")
@requires("settings.edit")
def notifications():
    status = request.args.get("status", "")
    query = _messages()
    if status in STATUS_LABELS:
        query = query.where(OutboxMessage.status == status)
    else:
        status = ""
    table = Table.from_request("notifications", _columns(), default_sort="created_at", descending=True,
                               tie_breaker=OutboxMessage.id, manager=current_user)
    page = table.page(query)
    settings = notify_settings(current_app.config)
    return render_template("admin/notify/list.html", t=table, page=page, status=status, counts=outbox.counts(),
                           settings=settings, status_labels=STATUS_LABELS, channel_labels=CHANNEL_LABELS,
                           event_labels=texts.EVENT_LABELS)


@bp.route("/notifications/<int:message_id>")
@requires("settings.edit")
def notification(message_id):
    message = _visible_message(message_id)
    return render_template("admin/notify/message.html", message=message, status_labels=STATUS_LABELS,
                           channel_labels=CHANNEL_LABELS, event_labels=texts.EVENT_LABELS)


@bp.route("/notifications/<int:message_id>/retry", methods=["POST"])
@requires("settings.edit")
def notification_retry(message_id):
    message = _visible_message(message_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        outbox.retry(message.id, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The message is queued again."), "success")
    return redirect(url_for("admin.notification", message_id=message.id))


@bp.route("/notifications/retry-failed", methods=["POST"])
@requires("settings.edit")
def notifications_retry_failed():
    if not access.sees_all_groups(current_user):
        abort(403)  # it would touch messages of subscribers the manager does not see
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    count = outbox.retry_all_failed(actor=current_actor())
    flash(_("Messages queued again: %(count)s.", count=count), "success")
    return redirect(url_for("admin.notifications", status="queued"))


@bp.route("/notifications/templates")
@requires("settings.edit")
def notification_templates():
    custom = {(r.event, r.channel) for r in NotifyTemplate.select(NotifyTemplate.event, NotifyTemplate.channel)}
    return render_template("admin/notify/templates.html", events=texts.EVENTS, channels=CHANNELS, custom=custom,
                           event_labels=texts.EVENT_LABELS, channel_labels=CHANNEL_LABELS)


@bp.route("/notifications/templates/<event>/<channel>", methods=["GET", "POST"])
@requires("settings.edit")
def notification_template(event, channel):
    if (event, channel) not in texts.BUILT_IN:
        abort(404)
    current = texts.text_for(event, channel)
    form = TemplateForm(data={"subject": current.subject, "body": current.body} if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                saved = texts.save_template(event, channel, form.subject.data, form.body.data, actor=current_actor())
            except BillingError as exc:
                apply_errors(form, exc)
                status = 422
            else:
                flash(_("The text is saved.") if saved else _("The built-in text is restored."), "success")
                return redirect(url_for("admin.notification_template", event=event, channel=channel))
        else:
            status = 422
    preview = None
    try:
        preview = texts.render(current, texts.sample_values(event))
    except Exception:  # noqa: BLE001 - a stored text that no longer renders is shown without a preview
        preview = None
    return render_template("admin/notify/template_form.html", form=form, event=event, channel=channel,
                           variables=texts.VARIABLES[event], built_in=texts.BUILT_IN[(event, channel)],
                           preview=preview, event_labels=texts.EVENT_LABELS, channel_labels=CHANNEL_LABELS), status


@bp.route("/notifications/groups", methods=["GET"])
@requires("settings.edit")
def notification_groups():
    groups = list(access.scope_groups(Group.select(), current_user).order_by(Group.name))
    return render_template("admin/notify/groups.html", groups=groups, days=rules.group_days(),
                           default=notify_settings(current_app.config).low_balance_days,
                           form=GroupDaysForm(formdata=None))


@bp.route("/notifications/groups/<int:group_id>", methods=["POST"])
@requires("settings.edit")
def notification_group_days(group_id):
    if not access.can_see_group(current_user, group_id):
        abort(404)
    form = GroupDaysForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        rules.set_group_days(group_id, form.days.data, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        groups = list(access.scope_groups(Group.select(), current_user).order_by(Group.name))
        return render_template("admin/notify/groups.html", groups=groups, days=rules.group_days(),
                               default=notify_settings(current_app.config).low_balance_days,
                               form=form, failed_group=group_id), 422
    flash(_("Saved."), "success")
    return redirect(url_for("admin.notification_groups"))
