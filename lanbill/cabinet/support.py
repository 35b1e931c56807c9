"""Support in the cabinet (seed 002 «Поддержка»: «Запросы» and «Знания»):
the subscriber's own tickets, a new one (subject, class, message, files),
the thread with replies and closing, the files; the knowledge base's
published articles with search.

Everything is looked up through the subscriber: another subscriber's
ticket or file id is 404, exactly like one that does not exist."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from markupsafe import Markup
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lanbill.cabinet import bp
from lanbill.cabinet.common import actor, cabinet_required, me, render_page, show_errors, translate_error
from lanbill.cabinet.forms import ActionForm
from lanbill.errors import BillingError, NotFound
from lanbill.helpdesk import attachments, classes, knowledge, tickets

# A ticket's status as the subscriber reads it.
STATUS_TEXT = {
    "new": _l("Received"),
    "in_work": _l("In work"),
    "waiting": _l("Answered, waiting for you"),
    "closed": _l("Closed"),
}
FILES_HINT = _l("Up to 5 files of up to 5 MB: pictures, PDF, text, Word, Excel, ODT.")


class NewTicketForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(message=_l("Give the subject of the request.")),
                                                     Length(max=255, message=_l("At most 255 characters."))])
    ticket_class = SelectField(_l("Class of the request"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Message"), validators=[DataRequired(message=_l("Write the message."))])
    files = MultipleFileField(_l("Files"))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your message"), validators=[DataRequired(message=_l("Write the message."))])
    files = MultipleFileField(_l("Files"))


def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _own_ticket(ticket_id):
    try:
        return tickets.own_ticket(me(), ticket_id)
    except NotFound:
        abort(404)


@bp.app_context_processor
def _support_globals():
    return {"ticket_status_text": STATUS_TEXT}


@bp.route("/support")
@cabinet_required
def support():
    """«Запросы»: the subscriber's tickets, a reply not yet read marked."""
    return render_page("cabinet/support.html", tickets=tickets.own_tickets(me()), class_names=classes.class_names())


@bp.route("/support/new", methods=["GET", "POST"])
@cabinet_required
def support_new():
    """«Создать запрос»: subject, class, message and files."""
    form = NewTicketForm()
    offered = classes.active_classes()
    form.ticket_class.choices = [("", _("— choose —"))] + [(str(c.id), c.name) for c in offered]
    if form.validate_on_submit():
        try:
            ticket = tickets.open_ticket(me(), form.subject.data, form.body.data, actor=actor(),
                                         upload_dir=_upload_dir(), ticket_class_id=form.ticket_class.data or None,
                                         uploads=attachments.read_uploads(form.files.data))
        except BillingError as exc:
            show_errors(form, exc, {"ticket_class": "ticket_class"})
            return render_page("cabinet/support_new.html", exc.status, form=form, hint=FILES_HINT)
        flash(_("Your request is sent. We will answer here."), "success")
        return redirect(url_for("cabinet.support_ticket", ticket_id=ticket.id))
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/support_new.html", status, form=form, hint=FILES_HINT)


def _ticket_page(ticket, form=None, status: int = 200):
    unread_since = ticket.subscriber_seen_at
    tickets.mark_seen(ticket, by_staff=False)
    return render_page("cabinet/support_ticket.html", status, ticket=ticket, thread=tickets.thread(ticket),
                       form=form or ReplyForm(), close_form=ActionForm(prefix="close"), hint=FILES_HINT,
                       class_names=classes.class_names(), unread_since=unread_since)


@bp.route("/support/<int:ticket_id>")
@cabinet_required
def support_ticket(ticket_id):
    """The thread of one own ticket; opening it marks the replies read."""
    return _ticket_page(_own_ticket(ticket_id))


@bp.route("/support/<int:ticket_id>/reply", methods=["POST"])
@cabinet_required
def support_reply(ticket_id):
    ticket = _own_ticket(ticket_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _ticket_page(ticket, form, 422)
    try:
        tickets.add_message(ticket, form.body.data, actor=actor(), upload_dir=_upload_dir(),
                            uploads=attachments.read_uploads(form.files.data))
    except BillingError as exc:
        show_errors(form, exc)
        return _ticket_page(ticket, form, exc.status)
    flash(_("Your message is sent."), "success")
    return redirect(url_for("cabinet.support_ticket", ticket_id=ticket.id))


@bp.route("/support/<int:ticket_id>/close", methods=["POST"])
@cabinet_required
def support_close(ticket_id):
    ticket = _own_ticket(ticket_id)
    form = ActionForm(prefix="close")
    if not form.validate_on_submit():
        flash(_("The request was not understood; nothing is changed."), "error")
        return redirect(url_for("cabinet.support_ticket", ticket_id=ticket.id))
    try:
        tickets.close_own_ticket(me(), ticket.id, actor=actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The request is closed. Write again if the question comes back."), "success")
    return redirect(url_for("cabinet.support_ticket", ticket_id=ticket.id))


@bp.route("/support/files/<int:attachment_id>")
@cabinet_required
def support_file(attachment_id):
    """A file of one of the subscriber's own tickets; any other is 404."""
    try:
        attachment = tickets.attachment_for_subscriber(me(), attachment_id)
        path = attachments.file_path(_upload_dir(), attachment)
    except BillingError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=not attachments.is_inline(attachment),
                         download_name=attachment.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- knowledge base -----------------------------------------------------------------------


@bp.route("/knowledge")
@cabinet_required
def knowledge_list():
    """«Знания»: the published articles, searched by the words typed."""
    search = (request.args.get("q") or "").strip()[:knowledge.QUERY_MAX]
    articles = list(knowledge.search(search).limit(200))
    return render_page("cabinet/support_knowledge.html", articles=articles, search=search)


@bp.route("/knowledge/<int:article_id>")
@cabinet_required
def knowledge_article(article_id):
    """One published article; a draft is 404."""
    try:
        article = knowledge.get_article(article_id, published_only=True)
    except NotFound:
        abort(404)
    html = Markup(knowledge.render(article.body))  # noqa: S704 - sanitised by knowledge.render
    return render_page("cabinet/support_article.html", article=article, html=html)
