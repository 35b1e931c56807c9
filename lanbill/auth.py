"""Staff login, logout and the first-login password (seed 004).

Sessions last 20 minutes of inactivity (PERMANENT_SESSION_LIFETIME,
refreshed on every request); a manager with no password can do nothing
but set one.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from lanbill.actor import staff_actor
from lanbill.errors import N_, ValidationError
from lanbill.staff import login_limits, managers

bp = Blueprint("auth", __name__)

# Endpoints a manager without a password may still reach.
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "auth.password", "static"}


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
            wait = login_limits.address_wait(ip, _free_failures_per_address())
            if wait:
                raise managers.LoginRefused(N_("Too many failed logins; try again in %(seconds)s seconds."), wait)
            manager = managers.authenticate(
                form.login.data, form.password.data or "", ip=ip, free_failures=_free_failures(),
            )
        except managers.LoginRefused as exc:
            login_limits.record_failure(ip, form.login.data)
            form.password.errors = [_(exc.message, seconds=exc.wait_seconds)]
            if exc.wait_seconds:
                return render_template("auth/login.html", form=form), 429, {"Retry-After": str(exc.wait_seconds)}
            return render_template("auth/login.html", form=form), 401
        session.clear()
        session.permanent = True
        login_user(manager)
        if manager.needs_password:
            return redirect(url_for("auth.password"))
        return redirect(_safe_next() or url_for("admin.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST", "GET"])
def logout():
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
            managers.set_password(current_user, form.password.data,
                                   actor=staff_actor(current_user, ip=request.remote_addr or ""))
        except ValidationError as exc:
            form.password.errors = [_(exc.message)]
            return render_template("auth/password.html", form=form), 422
        flash(_("The password is set."), "success")
        return redirect(url_for("admin.home"))
    return render_template("auth/password.html", form=form)


def _free_failures() -> int:
    return current_app.config["LOGIN_MAX_FAILURES"]


def _free_failures_per_address() -> int:
    """Failed attempts from one address, over any logins, before it is
    slowed down (LOGIN_MAX_FAILURES_PER_ADDRESS, default 20)."""
    return int(current_app.config.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20))


def _safe_next() -> str | None:
    target = request.args.get("next")
    # Browsers read "/\host" as "//host": refuse backslashes too.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
