"""A forgotten cabinet password (DESIGN §10): the subscriber gives the
login, a one-time code goes out (customers.cabinet_reset), the subscriber
types it with a new password.  The pages never tell whether the login
exists."""

from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _

from lanbill.cabinet import bp
from lanbill.cabinet.common import end_session, render_page, show_errors, translate_error
from lanbill.cabinet.forms import ForgotForm, ResetForm
from lanbill.customers import cabinet_reset
from lanbill.errors import BillingError

LOGIN_KEY = "cabinet_reset_login"


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Step 1: the login; a code is sent when it names a subscriber with a
    contact — the answer is the same either way."""
    form = ForgotForm()
    if form.validate_on_submit():
        try:
            cabinet_reset.request_code(form.login.data.strip(), ip=request.remote_addr or "")
        except cabinet_reset.ResetRefused as exc:
            form.login.errors = [translate_error(exc)]
            return render_page("cabinet/forgot.html", 429, form=form, subscriber=None)
        end_session()
        session[LOGIN_KEY] = form.login.data.strip()
        return redirect(url_for("cabinet.reset_password"))
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/forgot.html", status, form=form, subscriber=None)


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    """Step 2: the code and the new password, typed twice."""
    form = ResetForm()
    if request.method == "GET":
        form.login.data = session.get(LOGIN_KEY, "")
    context = {"subscriber": None, "by_log": cabinet_reset.delivered_by_log(),
               "minutes": cabinet_reset.CODE_MINUTES}
    if form.validate_on_submit():
        try:
            cabinet_reset.confirm(form.login.data.strip(), form.code.data, form.password.data, form.repeat.data,
                                  ip=request.remote_addr or "")
        except BillingError as exc:
            show_errors(form, exc)
            return render_page("cabinet/reset.html", 422, form=form, **context)
        session.pop(LOGIN_KEY, None)
        flash(_("The cabinet password is changed. Log in with the new password."), "success")
        return redirect(url_for("cabinet.login"))
    status = 422 if request.method == "POST" else 200
    return render_page("cabinet/reset.html", status, form=form, **context)
