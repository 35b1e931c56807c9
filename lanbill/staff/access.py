"""Who sees what: the subscriber groups a manager's role may see (DESIGN §2,
seed 002 «Группы пользователей»).  A manager never sees a subscriber
outside their groups — lists, search, direct URLs, exports, the API — and
every audience (admin, API, cabinet, reports) asks here.
"""

from __future__ import annotations

from lanbill.models import RoleGroup, Subscriber, SubscriberGroup


def visible_subscriber_ids(manager):
    """A subquery of the subscriber ids the manager may see, or None for
    roles that see every group."""
    role = manager.role
    if role.all_groups:
        return None
    groups = RoleGroup.select(RoleGroup.group).where(RoleGroup.role == role.id)
    return SubscriberGroup.select(SubscriberGroup.subscriber).where(SubscriberGroup.group.in_(groups))


def scope(query, manager, subscriber_field=Subscriber.id):
    """Restrict any query to the subscribers the manager may see."""
    ids = visible_subscriber_ids(manager)
    return query if ids is None else query.where(subscriber_field.in_(ids))


def can_see_subscriber(manager, subscriber_id) -> bool:
    ids = visible_subscriber_ids(manager)
    if ids is None:
        return True
    return ids.where(SubscriberGroup.subscriber == subscriber_id).exists()
