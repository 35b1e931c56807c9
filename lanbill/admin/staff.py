"""Staff and roles: managers (create, edit, deactivate, new password) and
roles as sets of permissions with the subscriber groups a role may see."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN, fn

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error
from lanbill.admin.settings_forms import (
    PERMISSION_LABELS,
    ManagerForm,
    PasswordResetForm,
    RoleForm,
)
from lanbill.admin.tables import Column, Table
from lanbill.errors import BillingError
from lanbill.models import Group, Manager, Role, RoleGroup
from lanbill.models.staff import PERMISSIONS
from lanbill.staff import access
from lanbill.staff import managers as staff_managers
from lanbill.staff import roles as staff_roles


def _manager_columns():
    return [
        Column("login", _l("Login"), sort=Manager.login),
        Column("name", _l("Name"), sort=Manager.name),
        Column("role", _l("Role"), sort=Role.name, value=lambda m: m.role.name),
        Column("email", _l("E-mail"), sort=Manager.email, visible=False),
        Column("active", _l("Active"), sort=Manager.active, value=lambda m: _("yes") if m.active else _("no")),
        Column("last_login_at", _l("Last login"), sort=Manager.last_login_at),
    ]


@bp.route("/staff")
@requires("settings.edit")
def managers():
    table = Table.from_request("managers", _manager_columns(), default_sort="login", tie_breaker=Manager.id,
                               manager=current_user)
    query = Manager.select(Manager, Role).join(Role)
    if request.args.get("show") != "all":
        query = query.where(Manager.active == True)  # noqa: E712
    page = table.page(query)
    return render_template("admin/staff/managers.html", t=table, page=page, show=request.args.get("show", ""))


def _role_choices(form):
    form.role_id.choices = [(r.id, r.name) for r in Role.select().order_by(Role.name)]


def _manager_data(form) -> dict:
    return {"login": form.login.data, "name": form.name.data, "email": form.email.data,
            "role_id": form.role_id.data, "language": form.language.data, "active": form.active.data}


@bp.route("/staff/new", methods=["GET", "POST"])
@requires("settings.edit")
def manager_new():
    form = ManagerForm()
    _role_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            manager = staff_managers.add_manager({**_manager_data(form), "password": form.password.data or ""},
                                              actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            if manager.one_time_password:
                return _show_one_time_password(manager, manager.one_time_password)
            flash(_("The manager is created; at the first login they will choose their own password."),
                  "success")
            return redirect(url_for("admin.manager_edit", manager_id=manager.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/staff/manager.html", form=form, manager=None, password_form=None), status


# A generated one-time password waits in the creator's own session for the
# one page that shows it (after the redirect of POST-redirect-GET).
ONE_TIME_PASSWORD_KEY = "one_time_password"


def _show_one_time_password(manager, password):
    session[ONE_TIME_PASSWORD_KEY] = {"manager_id": manager.id, "password": password}
    return redirect(url_for("admin.manager_one_time_password", manager_id=manager.id))


@bp.route("/staff/<int:manager_id>/one-time-password")
@requires("settings.edit")
def manager_one_time_password(manager_id):
    """The one time a generated password is shown: to whoever created or
    reset it; it leaves the session as it is shown, is never stored in
    clear, never cached by the browser.  Reloaded, the page has nothing to
    show and leads back to the manager."""
    manager = Manager.get_or_none(Manager.id == manager_id) or abort(404)
    kept = session.pop(ONE_TIME_PASSWORD_KEY, None)
    if not kept or kept.get("manager_id") != manager.id:
        return redirect(url_for("admin.manager_edit", manager_id=manager.id))
    response = make_response(render_template("admin/staff/one_time_password.html", manager=manager,
                                              password=kept["password"]))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/staff/<int:manager_id>", methods=["GET", "POST"])
@requires("settings.edit")
def manager_edit(manager_id):
    manager = Manager.get_or_none(Manager.id == manager_id) or abort(404)
    initial = None
    if request.method == "GET":
        initial = {"login": manager.login, "name": manager.name, "email": manager.email,
                   "role_id": manager.role_id, "language": manager.language, "active": manager.active,
                   "version": manager.version}
    form = ManagerForm(data=initial)
    del form.password  # a password is changed with its own form
    _role_choices(form)
    status = 200
    if form.validate_on_submit():
        if manager.id == current_user.id and not form.active.data:
            form.active.errors = [_("You cannot deactivate yourself.")]
            status = 422
        else:
            try:
                staff_managers.update_manager(manager.id, _manager_data(form), actor=current_actor(),
                                        version=form.version_number())
            except BillingError as exc:
                apply_errors(form, exc)
                status = exc.status
            else:
                flash(_("The manager is saved."), "success")
                return redirect(url_for("admin.manager_edit", manager_id=manager.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/staff/manager.html", form=form, manager=manager,
                           password_form=PasswordResetForm(formdata=None)), status


@bp.route("/staff/<int:manager_id>/password", methods=["POST"])
@requires("settings.edit")
def manager_password(manager_id):
    manager = Manager.get_or_none(Manager.id == manager_id) or abort(404)
    password_form = PasswordResetForm()
    if password_form.validate_on_submit():
        try:
            password = staff_managers.reset_password(manager.id, password_form.password.data or None,
                                                     actor=current_actor())
        except BillingError as exc:
            apply_errors(password_form, exc)
        else:
            if not password_form.password.data:
                return _show_one_time_password(manager, password)
            flash(_("The new password is set; tell it to the manager."), "success")
            return redirect(url_for("admin.manager_edit", manager_id=manager.id))
    form = ManagerForm(formdata=None, data={"login": manager.login, "name": manager.name, "email": manager.email,
                                            "role_id": manager.role_id, "language": manager.language,
                                            "active": manager.active, "version": manager.version})
    del form.password
    _role_choices(form)
    return render_template("admin/staff/manager.html", form=form, manager=manager,
                           password_form=password_form), 422


# --- roles ---------------------------------------------------------------------------


@bp.route("/roles")
@requires("settings.edit")
def roles():
    columns = [
        Column("name", _l("Role"), sort=Role.name),
        Column("permissions", _l("Permissions")),
        Column("groups", _l("Subscriber groups")),
        Column("managers", _l("Managers"), sort=fn.COUNT(Manager.id), css="num", value=lambda r: r.manager_count),
    ]
    table = Table.from_request("roles", columns, default_sort="name", tie_breaker=Role.id, manager=current_user)
    page = table.page(Role.select(Role, fn.COUNT(Manager.id).alias("manager_count"))
                      .join(Manager, JOIN.LEFT_OUTER).group_by(Role))
    groups_of = {}
    role_ids = [r.id for r in page.items]
    for link in (RoleGroup.select(RoleGroup, Group).join(Group).where(RoleGroup.role.in_(role_ids or [0]))
                 .order_by(Group.name)):
        groups_of.setdefault(link.role_id, []).append(_(link.group.name) if link.group.is_system else link.group.name)
    return render_template("admin/staff/roles.html", t=table, page=page, groups_of=groups_of,
                           labels=PERMISSION_LABELS)


def _role_form(role):
    initial = None
    if role is not None and request.method == "GET":
        initial = {"name": role.name, "permissions": list(role.permissions or []), "all_groups": role.all_groups,
                   "group_ids": [r.group_id for r in RoleGroup.select().where(RoleGroup.role == role.id)],
                   "version": role.version}
    form = RoleForm(data=initial)
    form.permissions.choices = [(p, PERMISSION_LABELS[p]) for p in PERMISSIONS]
    # Only the groups the manager's own role sees can be given (no self-escalation).
    offered = access.scope_groups(Group.select().order_by(Group.is_system.desc(), Group.name), current_user)
    form.group_ids.choices = [(g.id, _(g.name) if g.is_system else g.name) for g in offered]
    return form


def _save_role(role):
    form = _role_form(role)
    status = 200
    if form.validate_on_submit():
        data = {"name": form.name.data, "permissions": form.permissions.data, "all_groups": form.all_groups.data,
                "group_ids": form.group_ids.data}
        try:
            if role is None:
                role = staff_roles.create_role(data, actor=current_actor())
            else:
                staff_roles.update_role(role.id, data, actor=current_actor(), version=form.version_number())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The role is saved."), "success")
            return redirect(url_for("admin.role_edit", role_id=role.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/staff/role.html", form=form, role=role), status


@bp.route("/roles/new", methods=["GET", "POST"])
@requires("settings.edit")
def role_new():
    return _save_role(None)


@bp.route("/roles/<int:role_id>", methods=["GET", "POST"])
@requires("settings.edit")
def role_edit(role_id):
    return _save_role(Role.get_or_none(Role.id == role_id) or abort(404))


@bp.route("/roles/<int:role_id>/delete", methods=["POST"])
@requires("settings.edit")
def role_delete(role_id):
    role = Role.get_or_none(Role.id == role_id) or abort(404)
    try:
        staff_roles.delete_role(role.id, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.role_edit", role_id=role.id))
    flash(_("The role is deleted."), "success")
    return redirect(url_for("admin.roles"))
