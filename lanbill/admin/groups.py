"""Subscriber groups and their promised-payment settings (seed 002 «Группы
пользователей», «Обещанный платеж»).  The system group cannot be deleted.
A manager sees and edits only the groups its role covers."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN, fn

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error
from lanbill.admin.settings_forms import GroupForm
from lanbill.admin.tables import Column, Table
from lanbill.customers import groups as subscriber_groups
from lanbill.errors import BillingError
from lanbill.models import Group, SubscriberGroup
from lanbill.money import money_str
from lanbill.staff import access

FIELDS = ("name", "description", "promise_allowed", "promise_max_amount", "promise_days", "promise_interval_days")


def _columns():
    return [
        Column("name", _l("Name"), sort=Group.name),
        Column("members", _l("Subscribers"), sort=fn.COUNT(SubscriberGroup.id), css="num",
               value=lambda g: g.member_count),
        Column("promise_allowed", _l("Promised payment"), sort=Group.promise_allowed,
               value=lambda g: _("yes") if g.promise_allowed else _("no")),
        Column("promise_max_amount", _l("Largest promised payment"), sort=Group.promise_max_amount, css="num"),
        Column("promise_days", _l("Term, days"), sort=Group.promise_days, css="num"),
        Column("promise_interval_days", _l("Days between promises"), sort=Group.promise_interval_days, css="num"),
        Column("description", _l("Description"), visible=False),
    ]


@bp.route("/groups")
@requires("settings.edit")
def groups():
    table = Table.from_request("groups", _columns(), default_sort="name", tie_breaker=Group.id, manager=current_user)
    query = access.scope_groups(
        Group.select(Group, fn.COUNT(SubscriberGroup.id).alias("member_count"))
        .join(SubscriberGroup, JOIN.LEFT_OUTER)
        .group_by(Group),
        current_user,
    )
    page = table.page(query)
    return render_template("admin/groups/list.html", t=table, page=page)


def _save(group):
    initial = None
    if group is not None and request.method == "GET":
        initial = {f: getattr(group, f) for f in FIELDS}
        initial["promise_max_amount"] = money_str(group.promise_max_amount).replace(".", ",")
        initial["version"] = group.version
    form = GroupForm(data=initial)
    status = 200
    if form.validate_on_submit():
        data = {f: getattr(form, f).data for f in FIELDS}
        try:
            if group is None:
                group = subscriber_groups.create_group(data, actor=current_actor())
            else:
                subscriber_groups.update_group(group.id, data, actor=current_actor(), version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The group is saved."), "success")
            return redirect(url_for("admin.group_edit", group_id=group.id))
    elif request.method == "POST":
        status = 422
    members = SubscriberGroup.select().where(SubscriberGroup.group == group.id).count() if group else 0
    return render_template("admin/groups/form.html", form=form, group=group, members=members), status


def _visible_group(group_id) -> Group:
    """The group, or 404 when missing or outside the manager's role."""
    group = Group.get_or_none(Group.id == group_id)
    if group is None or not access.can_see_group(current_user, group.id):
        abort(404)
    return group


@bp.route("/groups/new", methods=["GET", "POST"])
@requires("settings.edit")
def group_new():
    return _save(None)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@requires("settings.edit")
def group_edit(group_id):
    return _save(_visible_group(group_id))


@bp.route("/groups/<int:group_id>/delete", methods=["POST"])
@requires("settings.edit")
def group_delete(group_id):
    group = _visible_group(group_id)
    try:
        subscriber_groups.delete_group(group.id, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.group_edit", group_id=group.id)), 303
    flash(_("The group is deleted."), "success")
    return redirect(url_for("admin.groups"))
