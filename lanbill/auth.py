"""Staff login, logout and the first-login password (seed 004).

Sessions last 20 minutes of inactivity (PERMANENT_SESSION_LIFETIME,
refreshed on every request).  A manager who logged in with a one-time
password can do nothing but set their own.  Each session carries the
manager's session version (SESSION_VERSION_KEY), checked on every request
by the login loader: a logout or a password change ends the manager's
other sessions.  Logout is a POST with a CSRF token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from lanbill.actor import staff_actor
from lanbill.errors import ValidationError
from lanbill.staff import managers

bp = Blueprint("auth", __name__)

# Endpoints a manager with a one-time password may still reach.
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "auth.password", "static"}

# The session's copy of Manager.session_version.
SESSION_VERSION_KEY = "manager_session_version"

# Characters no redirect target may hold: ASCII controls (tab, CR, LF …
# that browsers and urlsplit drop) and the backslash browsers read as "/".
_UNSAFE_IN_TARGET = {chr(c) for c in range(0x20)} | {"\x7f", "\\"}


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None — the one check of
    every `next` the screens honour (no open redirect).

    The target is parsed and normalised first, then judged: anything
    holding a control character or a backslash is refused (browsers drop
    tabs and newlines, so "/", a tab, "/evil.example" would become
    "//evil.example"); the target must start with a single "/" and, once
    parsed, have neither scheme nor host.  The fragment is dropped."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch in _UNSAFE_IN_TARGET for ch in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + ("?" + parts.query if parts.query else "")


class LoginForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired(message=_l("Required."))])
    password = PasswordField(_l("Password"))


class PasswordForm(FlaskForm):
    # Asked only when a password is already set: a borrowed session must not
    # be enough to take the account over.
    current = PasswordField(_l("Current password"))
    password = PasswordField(_l("New password"), validators=[DataRequired(message=_l("Required."))])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The passwords do not match."))],
    )


@bp.before_app_request
def require_password_first():
    """First login: until a password is set, every page leads to /password."""
    # The manager is loaded from this request's session, never from a `g`
    # left over by an earlier request sharing the app context (tests do).
    g.pop("_login_user", None)
    if (
        current_user.is_authenticated
        and current_user.needs_password
        and request.endpoint not in OPEN_ENDPOINTS
        and request.blueprint != "api"
    ):
        return redirect(url_for("auth.password"))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        try:
            manager = managers.authenticate(
                form.login.data, form.password.data or "", ip=ip, free_failures=_free_failures(),
                free_failures_per_address=_free_failures_per_address(),
            )
        except managers.LoginRefused as exc:
            form.password.errors = [_(exc.message, seconds=exc.wait_seconds)]
            if exc.wait_seconds:
                return render_template("auth/login.html", form=form), 429, {"Retry-After": str(exc.wait_seconds)}
            return render_template("auth/login.html", form=form), 401
        session.clear()
        session.permanent = True
        session[SESSION_VERSION_KEY] = manager.session_version
        login_user(manager)
        if manager.needs_password:
            return redirect(url_for("auth.password"))
        return redirect(local_path(request.args.get("next")) or url_for("admin.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """POST (with the CSRF token) logs out here and everywhere else the
    manager is logged in; GET only shows the button, so a link or an image
    elsewhere cannot log anyone out."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    if current_user.is_authenticated:
        managers.end_sessions(current_user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.needs_password and not managers.verify_password(
            current_user.password_hash, form.current.data or ""
        ):
            form.current.errors = [_("The current password is wrong.")]
            return render_template("auth/password.html", form=form), 422
        try:
            session[SESSION_VERSION_KEY] = managers.set_password(
                current_user, form.password.data, actor=staff_actor(current_user, ip=request.remote_addr or ""))
        except ValidationError as exc:
            form.password.errors = [_(exc.message)]
            return render_template("auth/password.html", form=form), 422
        flash(_("The password is set."), "success")
        return redirect(url_for("admin.home"))
    return render_template("auth/password.html", form=form)


def _free_failures() -> int:
    """Failed attempts of one login from one address before that login is
    slowed down from that address (LOGIN_MAX_FAILURES, default 5)."""
    return int(current_app.config["LOGIN_MAX_FAILURES"])


def _free_failures_per_address() -> int:
    """Failed attempts from one address, over any logins, before it is
    slowed down (LOGIN_MAX_FAILURES_PER_ADDRESS, default 20)."""
    return int(current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"])

