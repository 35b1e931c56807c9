"""Staff login, logout and the first-login password (seed 004).

Sessions last 20 minutes of inactivity (PERMANENT_SESSION_LIFETIME,
refreshed on every request); a manager with no password can do nothing
but set one.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from lanbill.billing import staff
from lanbill.billing.actor import actor_of
from lanbill.billing.errors import ValidationError

bp = Blueprint("auth", __name__)

# Endpoints a manager without a password may still reach.
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "auth.password", "static"}


class LoginForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired(message=_l("Required."))])
    password = PasswordField(_l("Password"))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(message=_l("Required."))])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The passwords do not match."))],
    )


@bp.before_app_request
def require_password_first():
    """First login: until a password is set, every page leads to /password."""
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
        try:
            manager = staff.authenticate(
                form.login.data, form.password.data or "", ip=request.remote_addr or "",
                free_failures=_free_failures(),
            )
        except staff.LoginRefused as exc:
            form.password.errors = [_(exc.message, seconds=exc.wait_seconds)]
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
        try:
            staff.set_password(current_user, form.password.data, actor=actor_of(current_user))
        except ValidationError as exc:
            form.password.errors = [_(exc.message)]
            return render_template("auth/password.html", form=form), 422
        flash(_("The password is set."), "success")
        return redirect(url_for("admin.home"))
    return render_template("auth/password.html", form=form)


def _free_failures() -> int:
    from flask import current_app

    return current_app.config["LOGIN_MAX_FAILURES"]


def _safe_next() -> str | None:
    target = request.args.get("next")
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None
