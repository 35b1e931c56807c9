"""Admin views: thin functions over models and billing/ (Healthchecks' style)."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from lanbill.admin import bp
from lanbill.models import Account, Agreement, Payment, Subscriber


@bp.route("/")
@login_required
def home():
    counts = {
        "subscribers": Subscriber.select().where(Subscriber.is_template == False).count(),  # noqa: E712
        "agreements": Agreement.select().count(),
        "accounts": Account.select().where(Account.deleted == False).count(),  # noqa: E712
        "payments": Payment.select().count(),
    }
    return render_template("admin/home.html", counts=counts)
