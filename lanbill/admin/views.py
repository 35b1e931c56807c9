"""Admin views shared by every screen: the home page (the dashboard), the
language switch and the visible-columns preference of tables."""

from __future__ import annotations

import logging

from flask import redirect, request, url_for
from flask_login import current_user, login_required

from lanbill.admin import bp
from lanbill.admin.dashboard import dashboard
from lanbill.auth import local_path
from lanbill.errors import BillingError
from lanbill.staff import preferences

log = logging.getLogger(__name__)

# Endpoints any logged-in manager may use (no permission needed): they only
# touch the manager's own preferences or show the manager's own counts, or
# the manager's own API tokens (lanbill.admin.tokens).
OPEN_ENDPOINTS = {"admin.home", "admin.language", "admin.table_columns",
                  "admin.api_tokens", "admin.api_token_create", "admin.api_token_revoke"}


@bp.route("/")
@login_required
def home():
    """/admin/ is the dashboard, rendered here rather than redirected so
    that the address staff land on after login answers 200."""
    return dashboard()


def safe_next(default: str) -> str:
    """A local path from the form's `next`, or `default` (no open redirect;
    the one check is lanbill.auth.local_path)."""
    return local_path(request.form.get("next") or request.args.get("next")) or default


@bp.route("/language", methods=["POST"])
@login_required
def language():
    try:
        preferences.set_language(current_user, request.form.get("language", ""))
    except BillingError as exc:
        # A language the product does not offer: the page stays as it was.
        log.info("language of %s not changed: %s", current_user.login, exc.message)
    response = redirect(safe_next(url_for("admin.home")))
    response.set_cookie("lang", current_user.language, max_age=3600 * 24 * 365, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response


@bp.route("/tables/<name>/columns", methods=["POST"])
@login_required
def table_columns(name):
    columns = None if request.form.get("reset") else request.form.getlist("columns")
    try:
        preferences.set_table_columns(current_user, name, columns)
    except BillingError as exc:
        # An unknown table or column: the table keeps its columns.
        log.info("columns of table %s not changed for %s: %s", name, current_user.login, exc.message)
    return redirect(safe_next(url_for("admin.home")))

