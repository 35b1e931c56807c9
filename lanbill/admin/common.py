"""Helpers every staff screen shares: who is acting, the permission check on
each view, hiding what the manager's groups do not cover (the visible_*
look-ups of a subscriber, agreement or account by URL id), and showing a
domain refusal on a form or as a flash message.

Who may see what is decided in lanbill.staff.access; these are its thin
web wrappers (403 for a missing permission, 404 for an object outside the
manager's groups, so its existence is not revealed).
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lanbill.actor import Actor
from lanbill.errors import BillingError
from lanbill.models import Account, Agent, Agreement, Currency, Operator, Subscriber, Tariff
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


def visible_subscriber(subscriber_id) -> Subscriber:
    """The subscriber, or 404 when missing or outside the manager's groups."""
    subscriber = Subscriber.get_or_none(Subscriber.id == subscriber_id)
    if subscriber is None:
        abort(404)
    ensure_visible(subscriber.id)
    return subscriber


def visible_agreement(agreement_id) -> Agreement:
    """The agreement with its currency and operator, or 404 when missing or
    its subscriber is outside the manager's groups."""
    agreement = (Agreement.select(Agreement, Currency, Operator).join(Currency).switch(Agreement).join(Operator)
                 .where(Agreement.id == agreement_id).first())
    if agreement is None:
        abort(404)
    ensure_visible(agreement.subscriber_id)
    return agreement


def visible_account(account_id) -> Account:
    """The account with its subscriber, agreement, agent and tariff, or 404
    when missing or its subscriber is outside the manager's groups."""
    account = (Account.select(Account, Subscriber, Agreement, Agent, Tariff)
               .join(Subscriber).switch(Account).join(Agreement).switch(Account).join(Agent)
               .switch(Account).join(Tariff).where(Account.id == account_id).first())
    if account is None:
        abort(404)
    ensure_visible(account.subscriber_id)
    return account


def translate_error(exc: BillingError) -> str:
    """A domain refusal's message in the UI language."""
    return _(exc.message, **exc.params) if exc.params else _(exc.message)


def translate_error_in_full(exc: BillingError) -> str:
    """A refusal as one line: the message and every field's reason, each once."""
    parts = [translate_error(exc)] + [_(message) for message in (exc.fields or {}).values()]
    return " ".join(dict.fromkeys(parts))


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
    top = translate_error(exc)
    if top not in form.form_errors:
        form.form_errors.insert(0, top)


def parse_day(value):
    """A day from a filter in the URL (ISO, as a date input sends it), or
    None when empty or not a date: a bad filter is dropped, not an error."""
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None
