"""Staff and roles: managers (create, edit, deactivate, new password), roles
as sets of permissions with the groups they may see, and the permission
check on every settings route."""

from __future__ import annotations

import re

import pytest

from lanbill.models import AuditLog, Group, Manager, Role, RoleGroup
from lanbill.staff.access import can_see_subscriber
from lanbill.staff.managers import create_manager, hash_password, verify_password
from tests.factories import ACTOR, make_subscriber

# The view modules of the settings screens: every route in them is checked.
SETTINGS_MODULES = ("dashboard", "tariffs", "agents", "operators", "groups", "currencies", "addresses", "staff",
                    "audit")


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as()
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


def errors_of(response) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]*)<', html(response))


def make_manager(login: str, role: Role, password: str = "Secret-pass1") -> Manager:
    manager = create_manager(login, role=role, actor=ACTOR)
    Manager.update(password_hash=hash_password(password)).where(Manager.id == manager.id).execute()
    return Manager.get_by_id(manager.id)


def test_create_manager_bad_input_in_russian_saves_nothing(admin_client):
    role = Role.get(Role.name == "Administrator")
    count = Manager.select().count()
    response = admin_client.post("/admin/staff/new", data={
        "login": "кассир 1", "name": "", "email": "nope", "role_id": str(role.id), "language": "ru",
        "active": "y", "password": "short"})
    assert response.status_code == 422
    messages = errors_of(response)
    assert "Только латинские буквы, цифры и _ . @ -." in messages
    assert Manager.select().count() == count
    response = admin_client.post("/admin/staff/new", data={
        "login": "kassa", "email": "nope", "role_id": str(role.id), "language": "ru", "active": "y",
        "password": "short"})
    messages = errors_of(response)
    assert "Это не адрес электронной почты." in messages
    assert any("8" in m for m in messages), messages  # the password rule, in Russian
    assert Manager.select().count() == count
    response = admin_client.post("/admin/staff/new", data={
        "login": "admin", "role_id": str(role.id), "language": "ru", "active": "y"})
    assert response.status_code == 409 and "Уже занято." in errors_of(response)


def test_create_edit_deactivate_and_reset_password(admin_client, client, login_as):
    role = Role.create(name="Кассир", permissions=["payments.create", "subscribers.view"], all_groups=True)
    response = admin_client.post("/admin/staff/new", data={
        "login": "kassa", "name": "Анна", "email": "anna@example.ru", "role_id": str(role.id), "language": "ru",
        "active": "y", "password": ""})
    assert response.status_code == 302
    manager = Manager.get(Manager.login == "kassa")
    assert manager.needs_password and manager.role_id == role.id and manager.email == "anna@example.ru"

    response = admin_client.post(f"/admin/staff/{manager.id}/password",
                                 data={"password": "12345678", "confirm": "12345678"})
    assert response.status_code == 422 and Manager.get_by_id(manager.id).needs_password
    response = admin_client.post(f"/admin/staff/{manager.id}/password",
                                 data={"password": "Kassa-pass1", "confirm": "Kassa-pass2"})
    assert "Пароли не совпадают." in errors_of(response)
    admin_client.post(f"/admin/staff/{manager.id}/password", data={"password": "Kassa-pass1", "confirm": "Kassa-pass1"})
    assert verify_password(Manager.get_by_id(manager.id).password_hash, "Kassa-pass1")

    manager = Manager.get_by_id(manager.id)
    response = admin_client.post(f"/admin/staff/{manager.id}", data={
        "login": "kassa", "name": "Анна П.", "email": "", "role_id": str(role.id), "language": "en",
        "version": manager.version})  # "active" unticked: deactivate
    assert response.status_code == 302
    manager = Manager.get_by_id(manager.id)
    assert not manager.active and manager.language == "en" and manager.name == "Анна П."
    row = AuditLog.select().where(AuditLog.action == "manager.update").get()
    assert row.before["active"] is True and row.after["active"] is False
    # A stale form is refused.
    response = admin_client.post(f"/admin/staff/{manager.id}", data={
        "login": "kassa", "name": "Другое", "role_id": str(role.id), "language": "ru", "active": "y",
        "version": manager.version - 1})
    assert response.status_code == 409 and Manager.get_by_id(manager.id).name == "Анна П."


def test_a_manager_cannot_deactivate_themselves_nor_lock_everyone_out(admin_client, admin):
    response = admin_client.post(f"/admin/staff/{admin.id}", data={
        "login": "admin", "role_id": str(admin.role_id), "language": "ru", "version": admin.version})
    assert response.status_code == 422 and "Нельзя отключить самого себя." in errors_of(response)
    assert Manager.get_by_id(admin.id).active
    role = Role.get_by_id(admin.role_id)
    response = admin_client.post(f"/admin/roles/{role.id}", data={
        "name": role.name, "permissions": ["subscribers.view"], "all_groups": "y", "version": role.version})
    assert response.status_code == 409
    assert "Хотя бы у одного активного менеджера должно остаться право менять настройки." in html(response)
    assert "settings.edit" in Role.get_by_id(role.id).permissions


def test_role_restricted_to_one_group(admin_client, client, login_as):
    north = Group.create(name="Север")
    south = Group.create(name="Юг")
    mine = make_subscriber(name="Северов Иван", groups=[north.id])
    other = make_subscriber(name="Южанов Пётр", groups=[south.id])
    response = admin_client.post("/admin/roles/new", data={
        "name": "Менеджер севера", "permissions": ["subscribers.view", "reports.view"], "group_ids": [str(north.id)]})
    assert response.status_code == 302
    role = Role.get(Role.name == "Менеджер севера")
    assert not role.all_groups and role.permissions == ["subscribers.view", "reports.view"]
    assert [r.group_id for r in RoleGroup.select().where(RoleGroup.role == role.id)] == [north.id]
    page = html(admin_client.get("/admin/roles"))
    assert "Север" in page and "Просмотр абонентов" in page

    manager = make_manager("north", role)
    assert can_see_subscriber(manager, mine.id)
    assert not can_see_subscriber(manager, other.id)
    client.get("/logout")
    login_as("north")
    response = client.get("/admin/dashboard")
    assert response.status_code == 200
    assert re.search(r'data-state="none">1<', html(response))  # only the northern subscriber counts
    # Neither groups nor "all groups": refused, nothing saved.
    response = admin_client.post("/admin/roles/new", data={"name": "Никто", "permissions": ["subscribers.view"]})
    assert response.status_code == 403  # "north" has no settings.edit
    client.get("/logout")
    login_as()
    response = client.post("/admin/roles/new", data={"name": "Никто", "permissions": ["subscribers.view"]})
    assert response.status_code == 422
    assert "Выберите группы, которые видит роль, или отметьте «Все группы»." in html(response)
    assert not Role.select().where(Role.name == "Никто").exists()


def test_role_in_use_cannot_be_deleted(admin_client):
    role = Role.create(name="Временная", permissions=[], all_groups=True)
    manager = make_manager("temp", role)
    response = admin_client.post(f"/admin/roles/{role.id}/delete", follow_redirects=True)
    assert "Эта роль назначена менеджерам" in html(response)
    Manager.update(role=Role.get(Role.name == "Administrator")).where(Manager.id == manager.id).execute()
    admin_client.post(f"/admin/roles/{role.id}/delete")
    assert Role.get_or_none(Role.id == role.id) is None


def _settings_urls(app, ids: dict) -> list[tuple[str, str]]:
    """(method, URL) of every route of the settings modules, with ids of
    existing objects filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.endpoint.startswith("admin.") or view.__module__.rsplit(".", 1)[-1] not in SETTINGS_MODULES:
            continue
        if not view.__module__.startswith("lanbill.admin."):
            continue
        values = {arg: ids.get(arg, 1) for arg in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


def test_manager_without_permission_gets_403_on_every_settings_route(app, client, login_as):
    from tests.factories import make_agent, make_nas, make_tariff

    tariff = make_tariff()
    agent = make_agent()
    nas = make_nas(agent_id=agent.id)
    ids = {"tariff_id": tariff.id, "agent_id": agent.id, "nas_id": nas.id, "agent_type": "radius",
           "level": "region", "entry_id": 1, "category_id": 1, "rate_id": 1, "building_id": 1}
    nobody = Role.create(name="Без прав", permissions=[], all_groups=True)
    make_manager("nobody", nobody)
    login_as("nobody")
    urls = _settings_urls(app, ids)
    assert len(urls) > 40
    for method, url in urls:
        response = client.open(url, method=method, data={})
        if url.rstrip("/").endswith("/dashboard"):
            assert response.status_code == 200  # counts of one's own subscribers: no permission needed
            continue
        assert response.status_code == 403, (method, url, response.status_code)
    # Every one of these views declares its permission.
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if view.__module__.rsplit(".", 1)[-1] in SETTINGS_MODULES and view.__module__.startswith("lanbill.admin."):
            assert hasattr(view, "required_permissions"), rule.endpoint


def test_settings_edit_does_not_open_tariffs_and_vice_versa(app, client, login_as):
    role = Role.create(name="Тарифы", permissions=["tariffs.edit"], all_groups=True)
    make_manager("tariffer", role)
    login_as("tariffer")
    assert client.get("/admin/tariffs").status_code == 200
    assert client.get("/admin/operators").status_code == 403
    assert client.get("/admin/staff").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    menu = html(client.get("/admin/tariffs"))
    assert 'href="/admin/tariffs"' in menu and 'href="/admin/operators"' not in menu
