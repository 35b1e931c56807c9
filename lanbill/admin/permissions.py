"""Who may do what in the admin screens: role permissions and the
subscriber groups a role may see (a manager never sees a subscriber outside
their groups — lists, search, direct URLs, CSV exports)."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from lanbill.models import RoleGroup, Subscriber, SubscriberGroup


def requires(*permissions: str):
    """View decorator: logged in, and the role has every permission (403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            for permission in permissions:
                if not current_user.can(permission):
                    abort(403)
            return view(*args, **kwargs)

        wrapped.required_permissions = permissions
        return wrapped

    return decorator


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


def ensure_visible(manager, subscriber_id) -> None:
    """404 for a subscriber outside the manager's groups (not 403: its
    existence is not revealed)."""
    if not can_see_subscriber(manager, subscriber_id):
        abort(404)
