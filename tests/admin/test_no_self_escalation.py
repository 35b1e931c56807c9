"""No self-escalation with `settings.edit`: a manager gives a role only the
permissions and groups its own role has, edits or deletes only roles
within that reach, gives a manager only such a role, cannot take over a
stronger manager's login, and never changes its own role."""

from __future__ import annotations

from lanbill.models import Manager, Role, RoleGroup
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import table_counts

LIMITED_PERMISSIONS = ["settings.edit", "subscribers.view"]


def _limited(client, login_as):
    north, south = make_group("Север"), make_group("Юг")
    manager = make_manager("deputy", permissions=LIMITED_PERMISSIONS, groups=[north])
    login_as("deputy", PASSWORD)
    return manager, north, south


def test_a_new_role_gets_only_the_permissions_and_groups_of_the_granter(client, admin, login_as):
    manager, north, south = _limited(client, login_as)
    before = table_counts()
    for data in ({"name": "Больше прав", "permissions": ["subscribers.view", "payments.create"],
                  "group_ids": [str(north.id)]},
                 {"name": "Чужая группа", "permissions": ["subscribers.view"], "group_ids": [str(south.id)]},
                 {"name": "Все группы", "permissions": ["subscribers.view"], "all_groups": "y"}):
        response = client.post("/admin/roles/new", data=data)
        assert response.status_code in (409, 422), data
        assert table_counts() == before
    page = client.post("/admin/roles/new", data={"name": "Больше прав", "permissions": ["personal_data.view"],
                                                 "group_ids": [str(north.id)]}).get_data(as_text=True)
    assert ru("You can only give permissions your own role has.") in page
    ok = client.post("/admin/roles/new", data={"name": "Помощник", "permissions": ["subscribers.view"],
                                               "group_ids": [str(north.id)]})
    assert ok.status_code == 302
    assert Role.get(Role.name == "Помощник").permissions == ["subscribers.view"]


def test_a_manager_cannot_widen_its_own_role_nor_change_it(client, admin, login_as):
    manager, north, south = _limited(client, login_as)
    role = manager.role
    response = client.post(f"/admin/roles/{role.id}", data={
        "name": role.name, "permissions": [*LIMITED_PERMISSIONS, "payments.create"], "group_ids": [str(north.id)],
        "version": role.version})
    assert response.status_code in (409, 422)
    response = client.post(f"/admin/roles/{role.id}", data={
        "name": role.name, "permissions": LIMITED_PERMISSIONS, "group_ids": [str(north.id), str(south.id)],
        "version": role.version})
    assert response.status_code in (409, 422)
    assert Role.get_by_id(role.id).permissions == LIMITED_PERMISSIONS
    assert [r.group_id for r in RoleGroup.select().where(RoleGroup.role == role.id)] == [north.id]

    # Nor moves itself to the administrator's role, nor to a weaker one.
    weaker = Role.create(name="Слабее", permissions=["subscribers.view"], all_groups=False)
    RoleGroup.create(role=weaker, group=north)
    for target in (admin.role_id, weaker.id):
        current = Manager.get_by_id(manager.id)
        response = client.post(f"/admin/staff/{manager.id}", data={
            "login": "deputy", "role_id": str(target), "language": "ru", "active": "y", "version": current.version})
        assert response.status_code in (409, 422), target
        assert Manager.get_by_id(manager.id).role_id == role.id


def test_a_manager_cannot_give_or_edit_stronger_roles_nor_take_over_stronger_managers(client, admin, login_as):
    manager, north, south = _limited(client, login_as)
    admin_role = Role.get_by_id(admin.role_id)
    before = table_counts()
    response = client.post("/admin/staff/new", data={"login": "crony", "role_id": str(admin_role.id),
                                                     "language": "ru", "active": "y", "password": ""})
    assert response.status_code in (409, 422)
    response = client.post(f"/admin/roles/{admin_role.id}", data={
        "name": "Захвачено", "permissions": ["subscribers.view"], "group_ids": [str(north.id)],
        "version": admin_role.version})
    assert response.status_code in (409, 422)
    client.post(f"/admin/roles/{admin_role.id}/delete")
    response = client.post(f"/admin/staff/{admin.id}/password",
                           data={"password": "Taken-over1", "confirm": "Taken-over1"})
    assert response.status_code in (302, 409, 422)
    response = client.post(f"/admin/staff/{admin.id}", data={
        "login": "admin", "role_id": str(admin.role_id), "language": "ru", "version": admin.version})
    assert response.status_code in (409, 422)
    assert table_counts() == before
    assert Manager.get_by_id(admin.id).password_hash == admin.password_hash
    assert Role.get_by_id(admin_role.id).name == admin_role.name
