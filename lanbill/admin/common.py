"""Helpers every staff screen shares: who is acting, the permission check on
each view, hiding what the manager's groups do not cover, and showing a
domain refusal on a form.

Who may see what is decided in lanbill.staff.access; these are its thin
web wrappers (403 for a missing permission, 404 for an object outside the
manager's groups, so its existence is not revealed).
"""

from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lanbill.actor import Actor
from lanbill.staff import access


def current_actor() -> Actor:
    """The manager behind this request, with the client's address, for the
    audit log and the history of every object it changes."""
    return Actor(f"manager:{current_user.login}", manager_id=current_user.id,
                 ip=request.remote_addr or "", is_staff=True)


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


def visible(query, subscriber_field=None):
    """Restrict a query to the subscribers the current manager may see."""
    if subscriber_field is None:
        return access.scope(query, current_user)
    return access.scope(query, current_user, subscriber_field)


def ensure_visible(subscriber_id) -> None:
    """404 for a subscriber outside the current manager's groups."""
    if not access.can_see_subscriber(current_user, subscriber_id):
        abort(404)


def apply_errors(form, exc, aliases: dict | None = None) -> None:
    """Show a domain refusal (BillingError) on the form, in the UI language:
    each field's message under its field (`aliases` maps a domain field name
    to the form's; `agent_id` also finds a field named `agent`), a message
    for a field the form lacks and the refusal itself on top of the form."""
    aliases = aliases or {}
    form.form_errors = list(getattr(form, "form_errors", []) or [])
    for name, message in (exc.fields or {}).items():
        name = aliases.get(name, name)
        field = getattr(form, name, None) or getattr(form, name.removesuffix("_id"), None)
        text = _(message, **exc.params) if exc.params else _(message)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [text]
        else:
            form.form_errors.append(text)
    top = _(exc.message, **exc.params) if exc.params else _(exc.message)
    if top not in form.form_errors:
        form.form_errors.insert(0, top)
