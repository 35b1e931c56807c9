"""Who sees what: the subscriber groups a manager's role may see (DESIGN §2,
seed 002 «Группы пользователей»).  A manager never sees a subscriber
outside their groups — lists, search, direct URLs, exports, the API — and
every audience (admin, API, cabinet, reports) asks here.

The rule, one for every route: an object that belongs to a subscriber
(the subscriber, its agreements, accounts, payments, ledger, sessions,
traffic, audit rows about them) is visible exactly when the subscriber
is in one of the groups of the manager's role (or the role sees all
groups).  An object the manager may not see is answered exactly like one
that does not exist, so its existence is not revealed.
"""

from __future__ import annotations

from peewee import JOIN

from lanbill.actor import actor_of
from lanbill.models import (
    Account,
    Agreement,
    AuditLog,
    Document,
    Group,
    Manager,
    Payment,
    RoleGroup,
    Subscriber,
    SubscriberGroup,
    Ticket,
)
from lanbill.models.radius import RadiusSession
from lanbill.models.registries import RegistryRow
from lanbill.models.subscribers import PERSONAL_FIELDS


def sees_all_groups(manager) -> bool:
    """Whether the manager's role sees every subscriber group."""
    return bool(manager.role.all_groups)


def visible_subscriber_ids(manager):
    """A subquery of the subscriber ids the manager may see, or None for
    roles that see every group."""
    role = manager.role
    if role.all_groups:
        return None
    groups = RoleGroup.select(RoleGroup.group).where(RoleGroup.role == role.id)
    return SubscriberGroup.select(SubscriberGroup.subscriber).where(SubscriberGroup.group.in_(groups))


def visible_group_ids(manager):
    """A subquery of the subscriber groups the manager's role covers, or
    None for roles that see every group.  A group outside them is not
    shown, edited or deleted by the manager, nor given to a role."""
    role = manager.role
    if role.all_groups:
        return None
    return RoleGroup.select(RoleGroup.group).where(RoleGroup.role == role.id)


def scope_groups(query, manager):
    """Restrict a query over Group to the groups the manager's role covers."""
    ids = visible_group_ids(manager)
    return query if ids is None else query.where(Group.id.in_(ids))


def can_see_group(manager, group_id) -> bool:
    ids = visible_group_ids(manager)
    return ids is None or ids.where(RoleGroup.group == group_id).exists()


def scope(query, manager, subscriber_field=Subscriber.id):
    """Restrict any query to the subscribers the manager may see."""
    ids = visible_subscriber_ids(manager)
    return query if ids is None else query.where(subscriber_field.in_(ids))


def can_see_subscriber(manager, subscriber_id) -> bool:
    ids = visible_subscriber_ids(manager)
    if ids is None:
        return True
    return ids.where(SubscriberGroup.subscriber == subscriber_id).exists()


def acting_manager(actor):
    """The manager behind `actor` (an Actor, a Manager, a label), or None
    for the system, jobs and subscribers: a domain function that serves a
    manager scopes what it touches by this manager's groups."""
    if isinstance(actor, Manager):
        return actor
    manager_id = actor_of(actor).manager_id
    return None if manager_id is None else Manager.get_or_none(Manager.id == manager_id)


def visible_account_ids(manager):
    """A subquery of the account ids the manager may see, or None for
    roles that see every group."""
    ids = visible_subscriber_ids(manager)
    return None if ids is None else Account.select(Account.id).where(Account.subscriber.in_(ids))


def can_see_account(manager, account_id) -> bool:
    """Whether the account exists and its subscriber is visible to the manager."""
    account = Account.select(Account.subscriber).where(Account.id == account_id).first()
    return account is not None and can_see_subscriber(manager, account.subscriber_id)


def scope_sessions(query, manager):
    """RADIUS sessions of the accounts the manager may see.  A session of
    no known account (an unknown login) belongs to nobody's group: only
    roles that see every group see it."""
    ids = visible_account_ids(manager)
    return query if ids is None else query.where(RadiusSession.account_id.in_(ids))


def can_see_session(manager, session) -> bool:
    if sees_all_groups(manager):
        return True
    return session.account_id is not None and can_see_account(manager, session.account_id)


# Audit rows about these object types are about one subscriber's things.
AUDITED_OWNED_TYPES = ("subscriber", "agreement", "account", "payment")


def scope_audit(query, manager):
    """Audit rows the manager may see: rows about subscribers, agreements,
    accounts and payments only when their subscriber is visible (a row
    about an object since deleted is shown only to roles that see every
    group); rows about anything else (tariffs, managers, settings) as they
    are."""
    ids = visible_subscriber_ids(manager)
    if ids is None:
        return query
    subscribers = Subscriber.select(Subscriber.id.cast("text")).where(Subscriber.id.in_(ids))
    agreements = Agreement.select(Agreement.id.cast("text")).where(Agreement.subscriber.in_(ids))
    accounts = Account.select(Account.id.cast("text")).where(Account.subscriber.in_(ids))
    payments = (Payment.select(Payment.id.cast("text")).join(Agreement, JOIN.INNER)
                .where(Agreement.subscriber.in_(ids)))
    return query.where(
        AuditLog.object_type.not_in(AUDITED_OWNED_TYPES)
        | ((AuditLog.object_type == "subscriber") & AuditLog.object_id.in_(subscribers))
        | ((AuditLog.object_type == "agreement") & AuditLog.object_id.in_(agreements))
        | ((AuditLog.object_type == "account") & AuditLog.object_id.in_(accounts))
        | ((AuditLog.object_type == "payment") & AuditLog.object_id.in_(payments))
    )


def can_see_personal_data(manager) -> bool:
    """Passport data is shown only to roles with `personal_data.view`
    (DESIGN §9)."""
    return manager.role.has("personal_data.view")


def hide_personal(values, manager, marker):
    """`values` (an audit row's before or after) with every personal field
    replaced by `marker` unless the manager may see personal data."""
    if not isinstance(values, dict) or can_see_personal_data(manager):
        return values
    return {key: (marker if key in PERSONAL_FIELDS and value not in (None, "") else value)
            for key, value in values.items()}


# --- helpdesk ------------------------------------------------------------------------------


def can_use_helpdesk(manager) -> bool:
    """The helpdesk's queue, tickets, their files and the knowledge base
    are for roles with `helpdesk.use` (DESIGN §10)."""
    return manager.role.has("helpdesk.use")


def scope_tickets(query, manager):
    """Tickets the manager may see: those of the subscribers in the
    manager's groups.  A ticket whose subscriber is gone belongs to nobody's
    group: only roles that see every group see it."""
    ids = visible_subscriber_ids(manager)
    return query if ids is None else query.where(Ticket.subscriber.in_(ids))


def can_see_ticket(manager, ticket) -> bool:
    """Whether the manager may see the ticket, its thread and its files
    (the group rule above, applied to the ticket's subscriber)."""
    if sees_all_groups(manager):
        return True
    return ticket.subscriber_id is not None and can_see_subscriber(manager, ticket.subscriber_id)
# --- payment registries ----------------------------------------------------------------------


def can_see_agreement(manager, agreement_id) -> bool:
    """Whether the agreement exists and its subscriber is visible to the manager."""
    agreement = Agreement.select(Agreement.subscriber).where(Agreement.id == agreement_id).first()
    return agreement is not None and can_see_subscriber(manager, agreement.subscriber_id)


def visible_agreement_id_set(manager, agreement_ids) -> set[int] | None:
    """Which of these agreements the manager may see (one query), or None
    for roles that see every group.  A registry is the bank's file, not a
    subscriber's: its rows are listed to whoever handles registries, but
    an agreement outside the manager's groups is shown without its number,
    and the file's own text of a row (the agreement as written, the payer,
    the comment) only with an agreement the manager may see — a row of no
    agreement may be anyone's, so its text is for roles that see every
    group (registry_row_text_visible)."""
    ids = visible_subscriber_ids(manager)
    if ids is None:
        return None
    agreement_ids = [a for a in set(agreement_ids) if a]
    if not agreement_ids:
        return set()
    return {a.id for a in Agreement.select(Agreement.id).where(Agreement.id.in_(agreement_ids)
                                                                & Agreement.subscriber.in_(ids))}


def registry_within_reach(manager, registry_id) -> bool:
    """Posting or annulling a registry books or reverses payments of every
    agreement it names: allowed only when each of them is visible to the
    manager (a role that sees every group always)."""
    ids = visible_subscriber_ids(manager)
    if ids is None:
        return True
    outside = (RegistryRow.select(RegistryRow.id).join(Agreement, on=(RegistryRow.agreement == Agreement.id))
               .where((RegistryRow.registry == registry_id) & Agreement.subscriber.not_in(ids)))
    return not outside.exists()


def registry_row_text_visible(visible: set[int] | None, agreement_id) -> bool:
    """Whether a registry row's own text is shown, given the manager's
    visible agreements among the rows (visible_agreement_id_set)."""
    return visible is None or (agreement_id is not None and agreement_id in visible)
def agreement_scope(manager):
    """A condition on Agreement keeping the agreements whose subscriber the
    manager may see, or None for roles that see every group.  Reports use
    it for every figure — rows, totals, charts, exports and the API — so a
    manager limited to a group sees only that group's money."""
    ids = visible_subscriber_ids(manager)
    return None if ids is None else Agreement.subscriber.in_(ids)
def scope_documents(query, manager):
    """Documents (lanbill.models.Document) of the agreements of the
    subscribers the manager may see; `query` must select from Document."""
    ids = visible_subscriber_ids(manager)
    if ids is None:
        return query
    return query.where(Document.agreement.in_(Agreement.select(Agreement.id).where(Agreement.subscriber.in_(ids))))


def can_see_document(manager, document) -> bool:
    """Whether the document's agreement belongs to a subscriber the manager may see."""
    agreement = Agreement.select(Agreement.subscriber).where(Agreement.id == document.agreement_id).first()
    return agreement is not None and can_see_subscriber(manager, agreement.subscriber_id)
