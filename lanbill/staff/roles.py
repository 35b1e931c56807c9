"""Roles: sets of permissions and the subscriber groups a role may see
(RoleGroup); at least one active manager always keeps `settings.edit`.

No self-escalation: a manager with `settings.edit` gives a role only the
permissions and groups its own role has (`all_groups` only if it has
it), edits or deletes only roles within that reach, gives a manager only
such a role, and never changes which role it has itself.  The system
(the CLI, first run) is not limited."""

from __future__ import annotations

from lanbill.db import transaction
from lanbill.errors import N_, Conflict
from lanbill.models import Group, Manager, Role, RoleGroup
from lanbill.models.staff import PERMISSIONS
from lanbill.records import check_version, clean_text, get_record, raise_if_any
from lanbill.staff import access, audit


def clean_role(data: dict) -> dict:
    errors: dict = {}
    out = {"name": clean_text(data, "name", errors, required=True, limit=64),
           "all_groups": bool(data.get("all_groups"))}
    permissions = data.get("permissions") or []
    if not isinstance(permissions, (list, tuple, set)) or any(p not in PERMISSIONS for p in permissions):
        errors["permissions"] = N_("Unknown permission.")
        permissions = []
    out["permissions"] = [p for p in PERMISSIONS if p in set(permissions)]
    group_ids = data.get("group_ids") or []
    try:
        group_ids = sorted({int(g) for g in group_ids})
    except (TypeError, ValueError):
        errors["group_ids"] = N_("Unknown group.")
        group_ids = []
    if group_ids and Group.select().where(Group.id.in_(group_ids)).count() != len(group_ids):
        errors["group_ids"] = N_("Unknown group.")
    if not out["all_groups"] and not group_ids and not errors.get("group_ids"):
        errors["group_ids"] = N_("Choose the groups the role may see, or tick «All groups».")
    out["group_ids"] = [] if out["all_groups"] else group_ids
    raise_if_any(errors)
    return out


def _role_name_free(name: str, exclude_id=None) -> None:
    query = Role.select().where(Role.name == name)
    if exclude_id is not None:
        query = query.where(Role.id != exclude_id)
    if query.exists():
        raise Conflict(N_("A role with this name exists."), fields={"name": N_("Taken.")})


def role_groups(role_id) -> list[int]:
    return sorted(r.group_id for r in RoleGroup.select(RoleGroup.group).where(RoleGroup.role == role_id))


def ensure_an_administrator_remains() -> None:
    """Refuse a change that leaves nobody able to edit settings (roles and
    managers): the system would be locked for good."""
    roles = [r.id for r in Role.select(Role.id, Role.permissions) if r.has("settings.edit")]
    ok = bool(roles) and Manager.select().where((Manager.active == True) & Manager.role.in_(roles)).exists()  # noqa: E712
    if not ok:
        raise Conflict(N_("At least one active manager must keep the permission to edit settings."))


def _beyond_reach(granter, permissions, all_groups: bool, group_ids) -> dict:
    """The fields of a role that go beyond what `granter`'s own role has:
    {field: reason}, empty when the role is within reach."""
    own = granter.role
    problems = {}
    if set(permissions or []) - set(own.permissions or []):
        problems["permissions"] = N_("You can only give permissions your own role has.")
    if not own.all_groups:
        mine = set(role_groups(own.id))
        if all_groups or set(group_ids or []) - mine:
            problems["group_ids"] = N_("You can only give the subscriber groups your own role sees.")
    return problems


def ensure_may_grant(actor, permissions, all_groups: bool, group_ids) -> None:
    """Refuse a role with a permission or a group the acting manager's own
    role lacks (no self-escalation)."""
    granter = access.acting_manager(actor)
    if granter is None:
        return
    problems = _beyond_reach(granter, permissions, all_groups, group_ids)
    if problems:
        raise Conflict(N_("You cannot give more rights than your own role has."), fields=problems)


def ensure_may_give_role(actor, role: Role) -> None:
    """Refuse giving a manager `role` when it has more than the acting
    manager's own role: a manager cannot raise another (or a second login
    of its own) above itself."""
    granter = access.acting_manager(actor)
    if granter is None:
        return
    if _beyond_reach(granter, role.permissions, role.all_groups, role_groups(role.id)):
        raise Conflict(N_("You cannot give a role with more rights than your own."),
                       fields={"role_id": N_("This role has more rights than yours.")})


def within_reach(granter: Manager, manager: Manager) -> bool:
    """Whether `manager`'s role has nothing beyond `granter`'s own (the same
    manager always is): what a manager may edit, reset or revoke of
    another."""
    return granter.id == manager.id or role_within_reach(granter, manager.role)


def role_within_reach(granter: Manager, role: Role) -> bool:
    """Whether `role` has nothing beyond `granter`'s own role."""
    return not _beyond_reach(granter, role.permissions, role.all_groups, role_groups(role.id))


def ensure_may_manage(actor, manager: Manager) -> None:
    """Refuse editing a manager (its details, role or password) whose role
    has more than the acting manager's own: taking over a stronger login
    would be an escalation too."""
    granter = access.acting_manager(actor)
    if granter is None or granter.id == manager.id:
        return
    role = manager.role
    if _beyond_reach(granter, role.permissions, role.all_groups, role_groups(role.id)):
        raise Conflict(N_("This manager has more rights than you; another administrator can change it."))


def ensure_not_own_role_change(actor, manager: Manager, role_id) -> None:
    """A manager never changes which role it has itself."""
    granter = access.acting_manager(actor)
    if granter is not None and granter.id == manager.id and int(role_id) != manager.role_id:
        raise Conflict(N_("You cannot change your own role; another administrator can."),
                       fields={"role_id": N_("Your own role cannot be changed by you.")})


def create_role(data: dict, *, actor) -> Role:
    fields = clean_role(data)
    group_ids = fields.pop("group_ids")
    ensure_may_grant(actor, fields["permissions"], fields["all_groups"], group_ids)
    with transaction():
        _role_name_free(fields["name"])
        role = Role.create(**fields)
        for group_id in group_ids:
            RoleGroup.create(role=role.id, group=group_id)
        audit.record(actor, "role.create", "role", role.id, after={**fields, "groups": group_ids})
    return role


def update_role(role_id, data: dict, *, actor, version=None) -> Role:
    """Permissions and the subscriber groups the role may see (RoleGroup)."""
    fields = clean_role(data)
    group_ids = fields.pop("group_ids")
    ensure_may_grant(actor, fields["permissions"], fields["all_groups"], group_ids)
    with transaction():
        current = get_record(Role, role_id)
        check_version(current, version)
        ensure_may_give_role(actor, current)  # a role above the editor's own is not the editor's to change
        _role_name_free(fields["name"], current.id)
        before = {k: getattr(current, k) for k in fields}
        before["groups"] = role_groups(current.id)
        after = {**fields, "groups": group_ids}
        Role.update(version=Role.version + 1, **fields).where(Role.id == current.id).execute()
        RoleGroup.delete().where(RoleGroup.role == current.id).execute()
        for group_id in group_ids:
            RoleGroup.create(role=current.id, group=group_id)
        ensure_an_administrator_remains()
        old, new = audit.diff(before, after)
        audit.record(actor, "role.update", "role", current.id, before=old, after=new)
    return Role.get_by_id(current.id)


def delete_role(role_id, *, actor) -> None:
    with transaction():
        role = get_record(Role, role_id)
        ensure_may_give_role(actor, role)
        if Manager.select().where(Manager.role == role.id).exists():
            raise Conflict(N_("The role is given to managers; give them another role first."))
        audit.record(actor, "role.delete", "role", role.id, before={"name": role.name})
        role.delete_instance(recursive=True)
