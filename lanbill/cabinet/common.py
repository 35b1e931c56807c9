"""What every cabinet page shares: the cabinet session (who is logged in,
idle timeout, the "only from my accounts' IPs" flag checked on every
page), the subscriber as the actor of a change, and showing a domain
refusal in Russian."""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from lanbill.actor import Actor
from lanbill.cabinet.forms import ActionForm
from lanbill.clock import local_now
from lanbill.customers import cabinet
from lanbill.db import Prepared, slot
from lanbill.errors import BillingError, NotFound
from lanbill.models import Subscriber

# The session keys of the cabinet; Flask-Login's keys belong to staff.
SUBSCRIBER_KEY = "cabinet_subscriber_id"
TOKEN_KEY = "cabinet_token"
SEEN_KEY = "cabinet_seen"
CABINET_KEYS = (SUBSCRIBER_KEY, TOKEN_KEY, SEEN_KEY)
# The subscriber's columns a cabinet request loads (never saved back).
SESSION_FIELDS = (Subscriber.id, Subscriber.kind, Subscriber.name, Subscriber.email, Subscriber.phone,
                  Subscriber.login, Subscriber.password_hash, Subscriber.cabinet_ip_only,
                  Subscriber.card_activation_blocked, Subscriber.failed_card_activations, Subscriber.is_template,
                  Subscriber.version)
_session_subscriber = Prepared(lambda: Subscriber.select(*SESSION_FIELDS)
                               .where(Subscriber.id == slot("id", Subscriber.id)).limit(1))


def start_session(subscriber: Subscriber) -> None:
    """A fresh session for the subscriber: whatever the browser carried
    (a staff login included) is dropped, so the two never mix."""
    session.clear()
    session.permanent = True
    session[SUBSCRIBER_KEY] = subscriber.id
    session[TOKEN_KEY] = cabinet.session_token(subscriber)
    session[SEEN_KEY] = int(time.time())


def end_session() -> None:
    for key in CABINET_KEYS:
        session.pop(key, None)


def logged_in_subscriber() -> Subscriber | None:
    """The subscriber of this request's cabinet session, or None: no
    session, idle longer than SESSION_MINUTES, the password changed since
    (another session or staff reset it), or the address is not one of the
    accounts' own while the subscriber asked for that."""
    if "cabinet_subscriber" in g:
        return g.cabinet_subscriber
    g.cabinet_subscriber = None
    g.cabinet_ended = ""
    subscriber_id = session.get(SUBSCRIBER_KEY)
    if not subscriber_id:
        return None
    idle = time.time() - float(session.get(SEEN_KEY) or 0)
    # Only what the cabinet's pages use: the encrypted personal fields are
    # not read (nor decrypted) on every page.
    subscriber = _session_subscriber.first(id=subscriber_id)
    if idle > current_app.config["SESSION_MINUTES"] * 60:
        g.cabinet_ended = _("The session ended after a long pause; log in again.")
    elif subscriber is None or session.get(TOKEN_KEY) != cabinet.session_token(subscriber):
        g.cabinet_ended = _("The password has changed; log in again.")
    elif subscriber.cabinet_ip_only and not cabinet.ip_allowed(subscriber, request.remote_addr or ""):
        g.cabinet_ended = _("The cabinet of this subscriber opens only from the addresses of its accounts.")
    else:
        session[SEEN_KEY] = int(time.time())
        g.cabinet_subscriber = subscriber
        return subscriber
    end_session()
    return None


def cabinet_required(view):
    """View decorator: a cabinet session, else the login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if logged_in_subscriber() is None:
            if g.get("cabinet_ended"):
                flash(g.cabinet_ended, "warning")
            return redirect(url_for("cabinet.login"))
        return view(*args, **kwargs)

    return wrapped


def me() -> Subscriber:
    return g.cabinet_subscriber


def actor() -> Actor:
    """The logged-in subscriber with the client's address."""
    return cabinet.subscriber_actor(me(), request.remote_addr or "")


def translate_error(exc: BillingError) -> str:
    return _(exc.message, **exc.params) if exc.params else _(exc.message)


def show_errors(form, exc: BillingError, aliases: dict | None = None) -> None:
    """A refusal on the form: each field's reason under its field, the
    refusal itself on top."""
    aliases = aliases or {}
    form.form_errors = [translate_error(exc)]
    for name, message in (exc.fields or {}).items():
        target = getattr(form, aliases.get(name, name), None)
        text = _(message, **exc.params) if exc.params else _(message)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors or []) + [text]
        elif text not in form.form_errors:
            form.form_errors.append(text)


def own_or_404(lookup, *args):
    """A cabinet.own_* look-up; someone else's id is 404."""
    try:
        return lookup(me(), *args)
    except NotFound:
        abort(404)


def render_page(template: str, status: int = 200, **context):
    """A cabinet page: the subscriber, the server's date and time (seed 002:
    shown on top of every page) and the log-out button."""
    context.setdefault("subscriber", g.get("cabinet_subscriber"))
    context.setdefault("logout_form", ActionForm(prefix="logout"))
    context.setdefault("server_time", local_now())
    return render_template(template, **context), status
