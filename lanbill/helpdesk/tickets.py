"""Helpdesk tickets (DESIGN §10, seed 002 «Поддержка» → «Запросы»): opening
one, the thread of messages with files, status, class and assignee,
who sees which ticket, and the "replied / unread" markers of each side.

Rules, each named in its function:
- a ticket has a subject and a first message (both required); a class, if
  given, is one of the active classes staff defined, and a subscriber must
  choose one whenever staff have defined any;
- statuses: new → in work → waiting for the subscriber → closed;
  a staff reply puts the ticket to "waiting for the subscriber" (unless
  the manager picks another status) and takes an unassigned ticket into
  the replying manager's hands; a subscriber's message on a ticket that
  waits for them, or that is closed, brings it back to "in work" (or
  "new" while nobody is assigned);
- a subscriber sees, answers and closes only their own tickets: another
  subscriber's ticket id is "not found";
- a manager sees only tickets of subscribers in the groups of the
  manager's role (staff.access.scope_tickets); the assignee is an active
  manager whose role has `helpdesk.use` and sees the ticket's subscriber;
- every message (the first included) sends `events.ticket_replied` after
  it is written, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN, prefetch

from lanbill import events
from lanbill.actor import actor_of
from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, NotFound, ValidationError
from lanbill.helpdesk import attachments as files
from lanbill.helpdesk.classes import active_class, active_classes
from lanbill.models import Manager, Role, Subscriber, SubscriberGroup
from lanbill.models.helpdesk import TICKET_STATUSES, Attachment, Message, Ticket
from lanbill.records import check_version
from lanbill.staff import access, audit

SUBJECT_MAX = 255
BODY_MAX = 20000
TICKET_NOT_FOUND = N_("Ticket not found.")
EMPTY_MESSAGE = N_("Write the message.")


@dataclass
class ThreadItem:
    message: Message
    files: list


def _now():
    return now_utc()


def _clean_subject(subject, errors: dict) -> str:
    value = (subject or "").strip() if isinstance(subject, str) else ""
    if not value:
        errors["subject"] = N_("Give the subject of the request.")
    elif len(value) > SUBJECT_MAX:
        errors["subject"] = N_("The subject is too long (at most 255 characters).")
    return value


def _clean_body(body, errors: dict) -> str:
    value = (body or "").strip() if isinstance(body, str) else ""
    if not value:
        errors["body"] = EMPTY_MESSAGE
    elif len(value) > BODY_MAX:
        errors["body"] = N_("The message is too long (at most 20000 characters).")
    return value


def _refuse(errors: dict) -> None:
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first, fields=errors)


def _author(who, subscriber: Subscriber | None) -> tuple[str, str, bool]:
    """(author label, name shown in the thread, by staff)."""
    if who.is_staff:
        manager = access.acting_manager(who)
        name = (manager.name or manager.login) if manager is not None else who.label
        return who.label, name, True
    return who.label, subscriber.name if subscriber is not None else "", False


def _stored_messages(ticket: Ticket, body: str, checked, who, upload_dir, *, at) -> Message:
    """Write one message and its files (called inside the transaction)."""
    label, name, by_staff = _author(who, ticket.subscriber)
    message = Message.create(ticket=ticket, author=label, author_name=name, by_staff=by_staff, body=body,
                             created_at=at)
    stored = []
    try:
        for item in checked:
            relative = files.store(upload_dir, item)
            stored.append(relative)
            Attachment.create(message=message, filename=item.filename, path=relative, size=len(item.data),
                              content_type=item.content_type, created_at=at)
    except BaseException:
        files.discard(upload_dir, stored)
        raise
    message.stored_paths = stored
    return message


def _check_manager_scope(who, subscriber_id) -> None:
    """A manager acting on a ticket must see its subscriber (group scope);
    otherwise the ticket is "not found"."""
    if not who.is_staff:
        return
    manager = access.acting_manager(who)
    if manager is None:
        return
    if subscriber_id is None:
        if not access.sees_all_groups(manager):
            raise NotFound(TICKET_NOT_FOUND)
    elif not access.can_see_subscriber(manager, subscriber_id):
        raise NotFound(TICKET_NOT_FOUND)


def open_ticket(subscriber: Subscriber, subject: str, body: str, *, actor, upload_dir, ticket_class_id=None,
                uploads=()) -> Ticket:
    """A new ticket with its first message (seed 002 «Создать запрос»:
    subject, class, message, a file).  A subscriber must pick a class
    once staff have defined any (seed 002: «выбрать класс запроса»);
    staff may leave it empty.  Opened by the subscriber in the
    cabinet it is "new"; opened by a manager for a subscriber (a phoned-in
    request) it is "in work" in that manager's hands.  Subject and message
    are required; a class must be an active one; files follow
    attachments.check_uploads.  Nothing is stored on a refusal."""
    who = actor_of(actor)
    errors: dict = {}
    subject = _clean_subject(subject, errors)
    body = _clean_body(body, errors)
    if ticket_class_id not in (None, ""):
        if active_class(ticket_class_id) is None:
            errors["ticket_class"] = N_("Choose one of the listed classes.")
    elif not who.is_staff and active_classes():
        errors["ticket_class"] = N_("Choose the class of the request.")
    _refuse(errors)
    checked = files.check_uploads(uploads)
    _check_manager_scope(who, subscriber.id)
    now = _now()
    manager = access.acting_manager(who) if who.is_staff else None
    stored: list = []
    try:
        with transaction():
            ticket = Ticket.create(
                subscriber=subscriber, subject=subject,
                ticket_class_id=int(ticket_class_id) if ticket_class_id not in (None, "") else None,
                status="in_work" if who.is_staff else "new", assignee=manager, opened_by=who.label,
                created_at=now, updated_at=now,
                last_staff_at=now if who.is_staff else None, staff_seen_at=now if who.is_staff else None,
                last_subscriber_at=None if who.is_staff else now, subscriber_seen_at=None if who.is_staff else now,
            )
            message = _stored_messages(ticket, body, checked, who, upload_dir, at=now)
            stored = message.stored_paths
            audit.record(who, "ticket.open", "ticket", ticket.id,
                         after={"subscriber_id": subscriber.id, "status": ticket.status,
                                "ticket_class_id": ticket.ticket_class_id, "files": len(checked)})
            events.ticket_replied.send(ticket=ticket, message=message, by_staff=who.is_staff)
    except BaseException:
        files.discard(upload_dir, stored)
        raise
    return ticket


def _status_after_subscriber_message(ticket: Ticket) -> str:
    if ticket.status in ("waiting", "closed"):
        return "in_work" if ticket.assignee_id else "new"
    return ticket.status


def add_message(ticket: Ticket, body: str, *, actor, upload_dir, uploads=(), status: str | None = None) -> Message:
    """A reply in the thread, by staff or by the ticket's subscriber (see
    the module's status rules).  `status` (staff only) is the status the
    ticket takes with the reply; by default "waiting for the subscriber".
    The message is required; files follow attachments.check_uploads.
    Marks the writer's side as having read the thread."""
    who = actor_of(actor)
    errors: dict = {}
    body = _clean_body(body, errors)
    if who.is_staff and status not in (None, "") and status not in TICKET_STATUSES:
        errors["status"] = N_("Choose one of the listed statuses.")
    _refuse(errors)
    checked = files.check_uploads(uploads)
    _check_manager_scope(who, ticket.subscriber_id)
    if not who.is_staff and who.label != f"subscriber:{ticket.subscriber_id}":
        raise NotFound(TICKET_NOT_FOUND)
    now = _now()
    stored: list = []
    try:
        with transaction():
            current = Ticket.get_by_id(ticket.id)
            before = {"status": current.status, "assignee_id": current.assignee_id}
            changes: dict = {"updated_at": now}
            if who.is_staff:
                new_status = status or "waiting"
                changes.update(last_staff_at=now, staff_seen_at=now, status=new_status)
                if current.assignee_id is None:
                    manager = access.acting_manager(who)
                    if manager is not None:
                        changes["assignee"] = manager.id
            else:
                new_status = _status_after_subscriber_message(current)
                changes.update(last_subscriber_at=now, subscriber_seen_at=now, status=new_status)
            changes["closed_at"] = now if new_status == "closed" else None
            Ticket.update(version=Ticket.version + 1, **changes).where(Ticket.id == current.id).execute()
            current = Ticket.get_by_id(current.id)
            message = _stored_messages(current, body, checked, who, upload_dir, at=now)
            stored = message.stored_paths
            old, new = audit.diff(before, {"status": current.status, "assignee_id": current.assignee_id})
            new.update(message_id=message.id, files=len(checked))
            audit.record(who, "ticket.reply", "ticket", current.id, before=old, after=new)
            events.ticket_replied.send(ticket=current, message=message, by_staff=who.is_staff)
    except BaseException:
        files.discard(upload_dir, stored)
        raise
    return message


def _assignee(ticket: Ticket, assignee_id) -> Manager | None:
    if assignee_id in (None, ""):
        return None
    try:
        manager = (Manager.select(Manager, Role).join(Role)
                   .where((Manager.id == int(assignee_id)) & (Manager.active == True)).first())  # noqa: E712
    except (TypeError, ValueError):
        manager = None
    if (manager is None or not access.can_use_helpdesk(manager)
            or not access.can_see_ticket(manager, ticket)):
        raise ValidationError(N_("This manager cannot take the ticket."),
                              fields={"assignee": N_("This manager cannot take the ticket.")})
    return manager


def change_ticket(ticket: Ticket, *, actor, status: str, ticket_class_id=None, assignee_id=None,
                  version=None) -> Ticket:
    """Staff set a ticket's status, class and assignee (DESIGN §10).  The
    status is one of TICKET_STATUSES; the class an active one (or the one
    the ticket has, even if archived since), or none; the assignee an
    active manager with `helpdesk.use` who sees the ticket's subscriber,
    or nobody.  A form older than the ticket's last change is refused."""
    who = actor_of(actor)
    _check_manager_scope(who, ticket.subscriber_id)
    errors: dict = {}
    if status not in TICKET_STATUSES:
        errors["status"] = N_("Choose one of the listed statuses.")
    class_id = None
    if ticket_class_id not in (None, ""):
        try:
            class_id = int(ticket_class_id)
        except (TypeError, ValueError):
            class_id = -1
        if class_id != ticket.ticket_class_id and active_class(class_id) is None:
            errors["ticket_class"] = N_("Choose one of the listed classes.")
    _refuse(errors)
    manager = _assignee(ticket, assignee_id)
    with transaction():
        current = Ticket.get_by_id(ticket.id)
        check_version(current, version)
        before = {"status": current.status, "ticket_class_id": current.ticket_class_id,
                  "assignee_id": current.assignee_id}
        after = {"status": status, "ticket_class_id": class_id, "assignee_id": manager.id if manager else None}
        old, new = audit.diff(before, after)
        if not new:
            return current
        now = _now()
        closed_at = current.closed_at if status == current.status else (now if status == "closed" else None)
        Ticket.update(version=Ticket.version + 1, status=status, ticket_class_id=class_id,
                      assignee=after["assignee_id"], updated_at=now, closed_at=closed_at
                      ).where(Ticket.id == current.id).execute()
        audit.record(who, "ticket.change", "ticket", current.id, before=old, after=new)
    return Ticket.get_by_id(ticket.id)


def close_own_ticket(subscriber: Subscriber, ticket_id, *, actor) -> Ticket:
    """The subscriber closes their own ticket (the question is settled); a
    closed ticket stays closed, another's is "not found"."""
    ticket = own_ticket(subscriber, ticket_id)
    if ticket.status == "closed":
        return ticket
    with transaction():
        now = _now()
        Ticket.update(version=Ticket.version + 1, status="closed", closed_at=now, updated_at=now
                      ).where(Ticket.id == ticket.id).execute()
        audit.record(actor, "ticket.close", "ticket", ticket.id, before={"status": ticket.status},
                     after={"status": "closed"})
    return Ticket.get_by_id(ticket.id)


def mark_seen(ticket: Ticket, *, by_staff: bool) -> None:
    """The side opening the thread has now read everything in it (a read,
    not a change: no audit row, the version stays)."""
    field = Ticket.staff_seen_at if by_staff else Ticket.subscriber_seen_at
    Ticket.update({field: _now()}).where(Ticket.id == ticket.id).execute()


# --- what each side may see ------------------------------------------------------------


def own_tickets(subscriber: Subscriber) -> list[Ticket]:
    """The subscriber's tickets, the most recently changed first."""
    return list(Ticket.select().where(Ticket.subscriber == subscriber.id)
                .order_by(Ticket.updated_at.desc(), Ticket.id.desc()))


def own_ticket(subscriber: Subscriber, ticket_id) -> Ticket:
    """The subscriber's ticket by id; another's is "not found"."""
    try:
        ticket_id = int(ticket_id)
    except (TypeError, ValueError):
        raise NotFound(TICKET_NOT_FOUND) from None
    found = Ticket.get_or_none((Ticket.id == ticket_id) & (Ticket.subscriber == subscriber.id))
    if found is None:
        raise NotFound(TICKET_NOT_FOUND)
    return found


def visible_ticket(manager, ticket_id) -> Ticket:
    """The ticket by id if the manager may see it (group scope), else "not found"."""
    try:
        ticket = Ticket.get_or_none(Ticket.id == int(ticket_id))
    except (TypeError, ValueError):
        ticket = None
    if ticket is None or not access.can_see_ticket(manager, ticket):
        raise NotFound(TICKET_NOT_FOUND)
    return ticket


def thread(ticket: Ticket) -> list[ThreadItem]:
    """The messages of a ticket, oldest first, each with its files."""
    messages = Message.select().where(Message.ticket == ticket.id).order_by(Message.created_at, Message.id)
    return [ThreadItem(m, list(m.attachments)) for m in prefetch(messages, Attachment.select())]


def attachment_for_subscriber(subscriber: Subscriber, attachment_id) -> Attachment:
    """A file of one of the subscriber's own tickets; any other is "not found"."""
    found = _attachment(attachment_id)
    if found is None or found.message.ticket.subscriber_id != subscriber.id:
        raise NotFound(N_("File not found."))
    return found


def attachment_for_manager(manager, attachment_id) -> Attachment:
    """A file of a ticket the manager may see; any other is "not found"."""
    found = _attachment(attachment_id)
    if found is None or not access.can_see_ticket(manager, found.message.ticket):
        raise NotFound(N_("File not found."))
    return found


def _attachment(attachment_id) -> Attachment | None:
    try:
        attachment_id = int(attachment_id)
    except (TypeError, ValueError):
        return None
    return (Attachment.select(Attachment, Message, Ticket).join(Message).join(Ticket)
            .where(Attachment.id == attachment_id).first())


def queue(manager, *, status: str = "", class_id=None, assignee: str = "", group_id=None):
    """The staff queue (DESIGN §10): tickets the manager may see, filtered
    by status ("open" = every status but closed), class, assignee ("me",
    "none" or a manager id) and subscriber group; the caller orders and
    pages it."""
    query = access.scope_tickets(Ticket.select(Ticket, Subscriber).join(Subscriber, on=(
        Ticket.subscriber == Subscriber.id), join_type=JOIN.LEFT_OUTER), manager)
    if status == "open":
        query = query.where(Ticket.status != "closed")
    elif status in TICKET_STATUSES:
        query = query.where(Ticket.status == status)
    if class_id not in (None, ""):
        query = query.where(Ticket.ticket_class_id == _int_or_zero(class_id))
    if assignee == "me":
        query = query.where(Ticket.assignee == manager.id)
    elif assignee == "none":
        query = query.where(Ticket.assignee.is_null(True))
    elif assignee not in (None, ""):
        query = query.where(Ticket.assignee == _int_or_zero(assignee))
    if group_id not in (None, ""):
        members = SubscriberGroup.select(SubscriberGroup.subscriber).where(
            SubscriberGroup.group == _int_or_zero(group_id))
        query = query.where(Ticket.subscriber.in_(members))
    return query


def _int_or_zero(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def assignable_managers(ticket: Ticket | None = None) -> list[Manager]:
    """Active managers whose role has `helpdesk.use` (and who see the
    ticket's subscriber, when a ticket is given), by name."""
    managers = (Manager.select(Manager, Role).join(Role).where(Manager.active == True)  # noqa: E712
                .order_by(Manager.name, Manager.login))
    return [m for m in managers if access.can_use_helpdesk(m)
            and (ticket is None or access.can_see_ticket(m, ticket))]


def unread_for_subscriber(subscriber: Subscriber) -> int:
    """How many of the subscriber's tickets have a staff reply they have not opened."""
    return sum(1 for t in own_tickets(subscriber) if t.unread_by_subscriber)
