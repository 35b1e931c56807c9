"""The helpdesk's staff screens (DESIGN §10): the queue at /admin/helpdesk
with filters and paging, a ticket with its thread, the subscriber's card,
reply (with files), status/class/assignee, a ticket opened for a
subscriber, the files, and the list of ticket classes.

Every route needs `helpdesk.use`; a ticket or file of a subscriber outside
the manager's groups is 404 (staff.access.can_see_ticket)."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires
from lanbill.admin.tables import Column, Table
from lanbill.errors import BillingError, NotFound
from lanbill.helpdesk import attachments, classes, tickets
from lanbill.helpdesk.card import subscriber_card
from lanbill.models import Agreement, Group, Manager, Subscriber
from lanbill.models.helpdesk import TICKET_STATUSES, Ticket, TicketClass
from lanbill.staff import access

STATUS_LABELS = {
    "new": _l("New"),
    "in_work": _l("In work"),
    "waiting": _l("Waiting for the subscriber"),
    "closed": _l("Closed"),
}
REQUIRED = _l("Required.")


def upload_dir() -> Path:
    """instance/uploads: where the helpdesk keeps its files."""
    return Path(current_app.instance_path) / "uploads"


@bp.app_template_global("ticket_status_label")
def ticket_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


# --- forms ---------------------------------------------------------------------------------


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply"), validators=[DataRequired(message=_l("Write the message."))])
    files = MultipleFileField(_l("Files"))
    status = SelectField(_l("Status after the reply"), default="waiting",
                         choices=[(s, STATUS_LABELS[s]) for s in TICKET_STATUSES])


class ChangeForm(FlaskForm):
    version = HiddenField()
    status = SelectField(_l("Status"), choices=[(s, STATUS_LABELS[s]) for s in TICKET_STATUSES])
    ticket_class = SelectField(_l("Class"), choices=[], validate_choice=False)
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)


class NewTicketForm(FlaskForm):
    agreement = StringField(_l("Agreement number"))
    subscriber_id = HiddenField()
    subject = StringField(_l("Subject"), validators=[DataRequired(message=_l("Give the subject of the request.")),
                                                     Length(max=255)])
    ticket_class = SelectField(_l("Class"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Message"), validators=[DataRequired(message=_l("Write the message."))])
    files = MultipleFileField(_l("Files"))


class TicketClassForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    archived = BooleanField(_l("Archived (not offered for new tickets)"))


def _class_choices(current_id=None) -> list[tuple[str, str]]:
    choices = [("", _("— no class —"))]
    for item in classes.all_classes():
        if not item.archived or item.id == current_id:
            choices.append((str(item.id), item.name + (" " + _("(archived)") if item.archived else "")))
    return choices


# --- the queue -------------------------------------------------------------------------------


def _columns():
    return [
        Column("id", _l("No."), sort=Ticket.id, css="num"),
        Column("subject", _l("Subject"), sort=Ticket.subject),
        Column("subscriber", _l("Subscriber"), sort=Subscriber.name,
               value=lambda t: t.subscriber.name if t.subscriber_id else ""),
        Column("ticket_class", _l("Class")),
        Column("status", _l("Status"), sort=Ticket.status, value=lambda t: ticket_status_label(t.status)),
        Column("assignee", _l("Assignee")),
        Column("updated_at", _l("Changed"), sort=Ticket.updated_at),
        Column("created_at", _l("Opened"), sort=Ticket.created_at, visible=False),
    ]


@bp.route("/helpdesk")
@requires("helpdesk.use")
def helpdesk():
    """The staff queue: filters by status (open ones by default), class,
    assignee and subscriber group; the newest change first."""
    args = request.args
    status = args.get("status", "open")
    table = Table.from_request("helpdesk", _columns(), default_sort="updated_at", descending=True,
                               tie_breaker=Ticket.id, manager=current_user)
    query = tickets.queue(current_user, status=status, class_id=args.get("class") or None,
                          assignee=args.get("assignee", ""), group_id=args.get("group") or None)
    page = table.page(query)
    managers = {m.id: (m.name or m.login) for m in Manager.select(Manager.id, Manager.name, Manager.login)}
    groups = list(access.scope_groups(Group.select().order_by(Group.name), current_user))
    return render_template("admin/helpdesk/queue.html", t=table, page=page, status=status, args=args,
                           statuses=STATUS_LABELS, classes=classes.all_classes(), class_names=classes.class_names(),
                           managers=managers, assignees=tickets.assignable_managers(), groups=groups,
                           unread_class=lambda row: "unread" if row.unread_by_staff else "")


# --- one ticket ------------------------------------------------------------------------------


def _visible_ticket(ticket_id) -> Ticket:
    try:
        return tickets.visible_ticket(current_user, ticket_id)
    except NotFound:
        abort(404)


def _ticket_page(ticket: Ticket, reply_form=None, change_form=None, status: int = 200):
    if change_form is None:
        change_form = ChangeForm(data={"version": ticket.version, "status": ticket.status,
                                       "ticket_class": str(ticket.ticket_class_id or ""),
                                       "assignee": str(ticket.assignee_id or "")}, prefix="change")
    change_form.ticket_class.choices = _class_choices(ticket.ticket_class_id)
    change_form.assignee.choices = [("", _("— nobody —"))] + [
        (str(m.id), m.name or m.login) for m in tickets.assignable_managers(ticket)]
    reply_form = reply_form or ReplyForm(prefix="reply")
    # Read before the marker moves: what was new to staff is shown as new once.
    unread_since = ticket.staff_seen_at
    tickets.mark_seen(ticket, by_staff=True)
    assignee = Manager.get_or_none(Manager.id == ticket.assignee_id) if ticket.assignee_id else None
    body = render_template(
        "admin/helpdesk/ticket.html", ticket=ticket, thread=tickets.thread(ticket), card=subscriber_card(
            ticket.subscriber if ticket.subscriber_id else None), reply_form=reply_form, change_form=change_form,
        class_names=classes.class_names(), assignee=assignee, unread_since=unread_since,
        can_open_subscriber=current_user.can("subscribers.view"))
    return body, status


@bp.route("/helpdesk/<int:ticket_id>")
@requires("helpdesk.use")
def helpdesk_ticket(ticket_id):
    return _ticket_page(_visible_ticket(ticket_id))


@bp.route("/helpdesk/<int:ticket_id>/reply", methods=["POST"])
@requires("helpdesk.use")
def helpdesk_reply(ticket_id):
    """A staff reply with files; the ticket takes the chosen status."""
    ticket = _visible_ticket(ticket_id)
    form = ReplyForm(prefix="reply")
    if not form.validate_on_submit():
        return _ticket_page(ticket, reply_form=form, status=422)
    try:
        tickets.add_message(ticket, form.body.data, actor=current_actor(), upload_dir=upload_dir(),
                            uploads=attachments.read_uploads(form.files.data), status=form.status.data)
    except BillingError as exc:
        apply_errors(form, exc)
        return _ticket_page(ticket, reply_form=form, status=exc.status)
    flash(_("The reply is sent."), "success")
    return redirect(url_for("admin.helpdesk_ticket", ticket_id=ticket.id))


@bp.route("/helpdesk/<int:ticket_id>/change", methods=["POST"])
@requires("helpdesk.use")
def helpdesk_change(ticket_id):
    """Status, class and assignee of a ticket."""
    ticket = _visible_ticket(ticket_id)
    form = ChangeForm(prefix="change")
    if not form.validate_on_submit():
        return _ticket_page(ticket, change_form=form, status=422)
    try:
        version = int(form.version.data) if (form.version.data or "").isdigit() else None
        tickets.change_ticket(ticket, actor=current_actor(), status=form.status.data,
                              ticket_class_id=form.ticket_class.data or None,
                              assignee_id=form.assignee.data or None, version=version)
    except BillingError as exc:
        apply_errors(form, exc)
        return _ticket_page(ticket, change_form=form, status=exc.status)
    flash(_("The ticket is saved."), "success")
    return redirect(url_for("admin.helpdesk_ticket", ticket_id=ticket.id))


@bp.route("/helpdesk/attachments/<int:attachment_id>")
@requires("helpdesk.use")
def helpdesk_attachment(attachment_id):
    """A file of a ticket the manager may see; any other is 404."""
    try:
        attachment = tickets.attachment_for_manager(current_user, attachment_id)
        path = attachments.file_path(upload_dir(), attachment)
    except BillingError:
        abort(404)
    return _send_attachment(attachment, path)


def _send_attachment(attachment, path: Path):
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=not attachments.is_inline(attachment),
                         download_name=attachment.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- a ticket opened by staff ----------------------------------------------------------------


def _subscriber_for(form: NewTicketForm) -> Subscriber | None:
    """The subscriber named by the form: the hidden id (from a subscriber's
    page) or the agreement number typed; only among the manager's groups."""
    if (form.subscriber_id.data or "").isdigit():
        subscriber = Subscriber.get_or_none(Subscriber.id == int(form.subscriber_id.data))
    else:
        number = (form.agreement.data or "").strip()
        agreement = Agreement.get_or_none(Agreement.number == number) if number else None
        subscriber = Subscriber.get_or_none(Subscriber.id == agreement.subscriber_id) if agreement else None
    if subscriber is None or not access.can_see_subscriber(current_user, subscriber.id):
        return None
    return subscriber


@bp.route("/helpdesk/new", methods=["GET", "POST"])
@requires("helpdesk.use")
def helpdesk_new():
    """Open a ticket for a subscriber (a request that came by phone or in
    the office): it starts "in work" in this manager's hands."""
    form = NewTicketForm()
    form.ticket_class.choices = _class_choices()
    chosen = None
    if request.method == "GET" and request.args.get("subscriber"):
        chosen = Subscriber.get_or_none(Subscriber.id == request.args.get("subscriber", type=int))
        if chosen is None or not access.can_see_subscriber(current_user, chosen.id):
            abort(404)
        form.subscriber_id.data = str(chosen.id)
    status = 200
    if form.validate_on_submit():
        subscriber = _subscriber_for(form)
        if subscriber is None:
            form.agreement.errors = list(form.agreement.errors or []) + [_("No subscriber with this agreement number.")]
            status = 422
        else:
            try:
                ticket = tickets.open_ticket(subscriber, form.subject.data, form.body.data, actor=current_actor(),
                                             upload_dir=upload_dir(), ticket_class_id=form.ticket_class.data or None,
                                             uploads=attachments.read_uploads(form.files.data))
            except BillingError as exc:
                apply_errors(form, exc)
                status = exc.status
            else:
                flash(_("The ticket is opened."), "success")
                return redirect(url_for("admin.helpdesk_ticket", ticket_id=ticket.id))
        chosen = subscriber
    elif request.method == "POST":
        status = 422
        chosen = _subscriber_for(form)
    return render_template("admin/helpdesk/new.html", form=form, chosen=chosen), status


# --- ticket classes -------------------------------------------------------------------------


@bp.route("/helpdesk/classes", methods=["GET", "POST"])
@requires("helpdesk.use", "settings.edit")
def helpdesk_classes():
    """The list of ticket classes, and a new one."""
    form = TicketClassForm()
    status = 200
    if form.validate_on_submit():
        try:
            classes.create_class({"name": form.name.data, "archived": form.archived.data}, actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The ticket class is saved."), "success")
            return redirect(url_for("admin.helpdesk_classes"))
    elif request.method == "POST":
        status = 422
    counts = {}
    for row in Ticket.select(Ticket.ticket_class_id).where(Ticket.ticket_class_id.is_null(False)):
        counts[row.ticket_class_id] = counts.get(row.ticket_class_id, 0) + 1
    return render_template("admin/helpdesk/classes.html", form=form, classes=classes.all_classes(),
                           counts=counts), status


@bp.route("/helpdesk/classes/<int:class_id>", methods=["GET", "POST"])
@requires("helpdesk.use", "settings.edit")
def helpdesk_class_edit(class_id):
    """Rename a ticket class or archive it."""
    item = TicketClass.get_or_none(TicketClass.id == class_id)
    if item is None:
        abort(404)
    form = TicketClassForm(data={"name": item.name, "archived": item.archived} if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            classes.update_class(item.id, {"name": form.name.data, "archived": form.archived.data},
                                 actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The ticket class is saved."), "success")
            return redirect(url_for("admin.helpdesk_classes"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/helpdesk/class.html", form=form, item=item), status
