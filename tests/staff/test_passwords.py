"""No account ever logs in with an empty password (DESIGN §8): one-time
passwords from `flask init`, from a manager's creator and from an
administrator's reset; managers left without a password by older
versions stay out until given one (migration 0060)."""

from __future__ import annotations

import re

import peewee
import pytest
from playhouse.migrate import SchemaMigrator, migrate

from lanbill.db import database, is_sqlite
from lanbill.models import Manager, Role
from lanbill.staff import managers
from lanbill.staff.managers import create_manager, give_one_time_password
from tests.factories import ACTOR


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as()
    return client


def test_an_empty_password_never_authenticates(client, admin):
    role = Role.get(Role.name == "Administrator")
    Manager.create(login="empty", role=role, password_hash="")
    for login in ("empty", "admin", "nobody"):
        response = client.post("/login", data={"login": login, "password": ""})
        assert response.status_code == 401, login
        assert "Неверный логин или пароль." in response.get_data(as_text=True)
    with pytest.raises(managers.LoginRefused):
        managers.authenticate("empty", "", ip="192.0.2.1")
    assert client.get("/admin/").status_code == 302


def test_a_manager_created_without_a_password_gets_a_one_time_password(client):
    role = Role.get(Role.name == "Administrator")
    manager = create_manager("kassa", role=role, actor=ACTOR)
    password = manager.one_time_password
    assert password and len(password) >= 12 and managers.password_problem(password) is None
    saved = Manager.get_by_id(manager.id)
    assert saved.needs_password and password not in saved.password_hash
    assert client.post("/login", data={"login": "kassa", "password": ""}).status_code == 401
    response = client.post("/login", data={"login": "kassa", "password": password})
    assert response.headers["Location"] == "/password"
    assert client.get("/admin/").headers["Location"] == "/password"


def test_the_staff_screen_shows_a_generated_password_once(admin_client):
    role = Role.get(Role.name == "Administrator")
    response = admin_client.post("/admin/staff/new", data={
        "login": "anna", "role_id": str(role.id), "language": "ru", "active": "y", "password": ""})
    assert response.status_code == 302
    manager = Manager.get(Manager.login == "anna")
    assert response.headers["Location"] == f"/admin/staff/{manager.id}/one-time-password"
    shown = admin_client.get(response.headers["Location"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code class="secret">([^<]+)</code>', shown.get_data(as_text=True)).group(1)
    assert managers.verify_password(manager.password_hash, password)
    assert "Он показан только сейчас" in shown.get_data(as_text=True)
    again = admin_client.get(f"/admin/staff/{manager.id}/one-time-password")
    assert again.status_code == 302 and password not in again.get_data(as_text=True)


def test_a_typed_password_on_the_staff_screen_is_one_time_too(admin_client, app):
    role = Role.get(Role.name == "Administrator")
    admin_client.post("/admin/staff/new", data={
        "login": "boris", "role_id": str(role.id), "language": "ru", "active": "y", "password": "Boris-pass1"})
    other = app.test_client()
    assert other.post("/login", data={"login": "boris", "password": "Boris-pass1"}).headers["Location"] == "/password"


def test_reset_with_an_empty_field_generates_a_one_time_password_and_ends_sessions(admin_client, app):
    role = Role.get(Role.name == "Administrator")
    manager = create_manager("vera", role=role, actor=ACTOR, password="Vera-pass-1")
    vera = app.test_client()
    assert vera.post("/login", data={"login": "vera", "password": "Vera-pass-1"}).status_code == 302
    assert vera.get("/admin/").status_code == 200
    response = admin_client.post(f"/admin/staff/{manager.id}/password", data={"password": "", "confirm": ""})
    shown = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', shown).group(1)
    assert vera.get("/admin/").headers["Location"].startswith("/login")  # the old session has ended
    assert vera.post("/login", data={"login": "vera", "password": "Vera-pass-1"}).status_code == 401
    assert vera.post("/login", data={"login": "vera", "password": password}).headers["Location"] == "/password"


def test_migration_0060_leaves_password_less_managers_out_until_given_a_one_time_password(app, client, admin):
    """A database from before one-time passwords: the manager columns are
    added, a manager without a password cannot log in (not even with an
    empty one) until an administrator gives a one-time password."""
    from lanbill.migrations import upgrade_database

    migrator = SchemaMigrator.from_database(database.obj)
    migrate(migrator.drop_column("manager", "one_time_password_hash"),
            migrator.drop_column("manager", "session_version"))
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0060_one_time_passwords'")
    role_id = Role.get(Role.name == "Administrator").id
    active = "1" if is_sqlite() else "true"
    database.execute_sql("INSERT INTO manager (login, password_hash, name, email, role_id, language, active, "
                         "failed_logins, locked_until, preferences, version, created_at) VALUES "
                         f"('old', '', '', '', {int(role_id)}, 'ru', {active}, 7, '2000-01-01 00:00:00', '{{}}', 1, "
                         "'2000-01-01 00:00:00')")
    assert upgrade_database() == ["0060_one_time_passwords"]
    old = Manager.get(Manager.login == "old")
    assert old.session_version == 1 and old.one_time_password_hash == "" and old.locked_until is None
    assert client.post("/login", data={"login": "old", "password": ""}).status_code == 401
    password = give_one_time_password(old.id, actor=ACTOR)
    assert client.post("/login", data={"login": "old", "password": password}).headers["Location"] == "/password"


def test_new_one_time_passwords_differ_and_follow_the_rules():
    seen = {managers.new_one_time_password() for _ in range(50)}
    assert len(seen) == 50
    assert all(managers.password_problem(p) is None for p in seen)


def test_one_time_password_column_is_a_hash_never_the_password(app):
    password = give_one_time_password(Manager.get(Manager.login == "admin").id, actor=ACTOR)
    admin = Manager.get(Manager.login == "admin")
    assert admin.one_time_password_hash == admin.password_hash and admin.password_hash.startswith("$argon2id$")
    assert password not in admin.one_time_password_hash
    assert isinstance(Manager.one_time_password_hash, peewee.CharField)
