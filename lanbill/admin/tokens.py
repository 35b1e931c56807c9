"""The API tokens screen: a manager lists, creates and revokes their own
tokens (staff who edit settings see and revoke everyone's); a new token is
shown once, on the page that answers its creation, and never again."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor
from lanbill.clock import midnight_utc, now_utc
from lanbill.errors import BillingError, NotFound
from lanbill.staff import tokens

SCOPE_LABELS = {"full": _l("Full access (as the role allows)"), "read": _l("Read only")}


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=tokens.NAME_MAX_LENGTH)])
    scope = SelectField(_l("Access"), choices=list(SCOPE_LABELS.items()), default="read")
    valid_until = DateField(_l("Valid until (inclusive)"), validators=[Optional()])


def _expires_at(day: dt.date | None) -> dt.datetime | None:
    """"Valid until" a day: the token works through that local day."""
    return midnight_utc(day + dt.timedelta(days=1)) if day else None


def _page(form, new_token=None, status=200):
    rows = list(tokens.visible_tokens(current_user))
    return render_template("admin/tokens/list.html", rows=rows, form=form, new_token=new_token,
                           scope_labels=SCOPE_LABELS, sees_all=current_user.can("settings.edit"),
                           now=now_utc()), status


# Any logged-in manager may use this screen (lanbill.admin.views.OPEN_ENDPOINTS):
# a token acts with its owner's own role, so it grants nothing new.
@bp.route("/tokens")
@login_required
def api_tokens():
    return _page(TokenForm(formdata=None))


@bp.route("/tokens", methods=["POST"])
@login_required
def api_token_create():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token = tokens.create_token(current_user, name=form.name.data or "", actor=current_actor(),
                                        scope=form.scope.data, expires_at=_expires_at(form.valid_until.data))
        except BillingError as exc:
            apply_errors(form, exc, {"expires_at": "valid_until"})
        else:
            # Shown on this page only: not in a flash message, which would
            # keep it in the session cookie.
            return _page(TokenForm(formdata=None), new_token=token, status=201)
    return _page(form, status=422)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def api_token_revoke(token_id):
    try:
        tokens.revoke_token(token_id, actor=current_actor(), by=current_user)
    except NotFound:
        abort(404)  # missing, or another manager's token: the same answer
    flash(_("The token is revoked: it no longer works."), "success")
    return redirect(url_for("admin.api_tokens"))
