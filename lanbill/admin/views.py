"""Admin views shared by every screen: the home page, the language switch
and the visible-columns preference of tables."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lanbill.admin import bp
from lanbill.errors import BillingError
from lanbill.models import Account, Agreement, Payment, Subscriber
from lanbill.staff import preferences

# Endpoints any logged-in manager may use (no permission needed): they only
# touch the manager's own preferences or show counts.
OPEN_ENDPOINTS = {"admin.home", "admin.language", "admin.table_columns"}


@bp.route("/")
@login_required
def home():
    """The dashboard once it exists (rendered here rather than redirected,
    so that /admin/ answers 200 after login); until then a page of counts."""
    if "admin.dashboard" in current_app.view_functions:
        return current_app.view_functions["admin.dashboard"]()
    counts = {
        "subscribers": Subscriber.select().where(Subscriber.is_template == False).count(),  # noqa: E712
        "agreements": Agreement.select().count(),
        "accounts": Account.select().where(Account.deleted == False).count(),  # noqa: E712
        "payments": Payment.select().count(),
    }
    return render_template("admin/home.html", counts=counts)


def safe_next(default: str) -> str:
    """A local URL from the form's `next`, or `default` (no open redirect)."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@bp.route("/language", methods=["POST"])
@login_required
def language():
    try:
        preferences.set_language(current_user, request.form.get("language", ""))
    except BillingError:
        pass
    response = redirect(safe_next(url_for("admin.home")))
    response.set_cookie("lang", current_user.language, max_age=3600 * 24 * 365, samesite="Lax")
    return response


@bp.route("/tables/<name>/columns", methods=["POST"])
@login_required
def table_columns(name):
    columns = None if request.form.get("reset") else request.form.getlist("columns")
    try:
        preferences.set_table_columns(current_user, name, columns)
    except BillingError:
        pass
    return redirect(safe_next(url_for("admin.home")))


# Daily work: subscribers, agreements, accounts, payments (imported here so
# that their routes register with the blueprint).
from lanbill.admin import accounts, agreements, payments, subscribers  # noqa: E402,F401,I001
