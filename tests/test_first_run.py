"""`flask init` (the embedded default's first data, idempotent), `flask
check` (balance = sum of ledger, DESIGN §4) and `flask token create`."""

from __future__ import annotations

import re
from decimal import Decimal

from lanbill.billing.payments import post_payment
from lanbill.first_run import FIRST_PASSWORD_FILE, FirstRun, first_password_to_show, initialize
from lanbill.models import Agreement, Currency, Group, Manager, Operator, Role
from lanbill.models.staff import PERMISSIONS
from lanbill.staff.tokens import manager_for_token
from tests.factories import ACTOR, make_agreement


def test_init_creates_the_embedded_defaults(app):
    # named in the installation's language: Russian by default
    operator = Operator.get()
    assert operator.name == "Основной оператор" and operator.is_default
    rub = Currency.get(Currency.code == "RUB")
    assert rub.is_default and Currency.select().where(Currency.is_default == True).count() == 1  # noqa: E712
    assert rub.name == "Российский рубль" and Currency.get(Currency.code == "USD").name == "Доллар США"
    group = Group.get(Group.is_system == True)  # noqa: E712
    assert group.name == "Все абоненты"
    admin = Manager.get(Manager.login == "admin")
    assert admin.needs_password and admin.has_one_time_password and admin.active
    assert admin.role.name == "Administrator" and admin.role.all_groups
    assert set(admin.role.permissions) == set(PERMISSIONS)


def test_init_twice_changes_nothing(app, runner):
    admin = Manager.get(Manager.login == "admin")
    admin.name = "Главный"
    admin.save()
    Operator.update(name="ООО «Сеть»").execute()
    assert initialize() == FirstRun([], None)
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0
    assert result.output.strip() == "initialised: nothing to do"
    assert Operator.select().count() == 1 and Operator.get().name == "ООО «Сеть»"
    assert Manager.select().count() == 1 and Manager.get().name == "Главный"
    assert Group.select().count() == 1 and Currency.select().count() == 3 and Role.select().count() == 1


def test_init_does_not_bring_admin_back_once_managers_exist(app):
    """A renamed or replaced first manager is not recreated (init only seeds
    an empty system)."""
    Manager.update(login="chief").execute()
    assert initialize() == FirstRun([], None)
    assert not Manager.select().where(Manager.login == "admin").exists()


def test_check_passes_on_a_consistent_ledger(app, runner):
    agreement = make_agreement()
    post_payment(agreement, "650.00", "П-1", actor=ACTOR)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "ok: every balance equals the sum of its ledger" in result.output


def test_check_fails_and_names_the_agreement_on_any_difference(app, runner):
    good = make_agreement()
    bad = make_agreement()
    post_payment(good, "100.00", "П-1", actor=ACTOR)
    post_payment(bad, "100.00", "П-2", actor=ACTOR)
    # A balance changed behind the ledger's back (what `check` is for).
    Agreement.update(balance=Agreement.balance + Decimal("0.01")).where(Agreement.id == bad.id).execute()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"agreement {bad.id} ({bad.number}): balance 100.01 != ledger 100.00" in result.output
    assert f"agreement {good.id} " not in result.output


def test_token_create_prints_a_working_token(app, runner):
    result = runner.invoke(args=["token", "create", "--manager", "admin", "--name", "billing"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("lb_") and len(token) > 30
    assert manager_for_token(token).login == "admin"
    unknown = runner.invoke(args=["token", "create", "--manager", "nobody"])
    assert unknown.exit_code != 0
    assert "no manager 'nobody'" in unknown.output


def test_init_on_an_empty_database_prints_admins_one_time_password(tmp_path):
    """`flask init` on a fresh instance: admin gets a random one-time
    password, printed once and kept for `flask start`'s banner; it logs in
    and the first thing asked is a new one; an empty password never does."""
    from lanbill import create_app
    from lanbill.db import database
    from tests.conftest import DATA_KEY

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t", "DATA_KEY": DATA_KEY,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                      "HUEY_URL": f"sqlite:///{tmp_path / 'huey.db'}", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        database.connect(reuse_if_open=True)
        result = app.test_cli_runner().invoke(args=["init"])
        assert result.exit_code == 0, result.output
        password = re.search(r"Log in as admin with the one-time password (\S+) ", result.output).group(1)
        assert (tmp_path / FIRST_PASSWORD_FILE).stat().st_mode & 0o077 == 0
        assert first_password_to_show(tmp_path) == password
        client = app.test_client()
        assert client.post("/login", data={"login": "admin", "password": ""}).status_code == 401
        assert client.post("/login", data={"login": "admin", "password": password}).headers["Location"] == "/password"
        assert client.post("/password", data={"password": "Kolobok-77", "confirm": "Kolobok-77"}).status_code == 302
        # used up: the banner no longer shows it and its copy is gone
        assert first_password_to_show(tmp_path) is None
        assert not (tmp_path / FIRST_PASSWORD_FILE).exists()
        again = app.test_cli_runner().invoke(args=["init"])
        assert again.output.strip() == "initialised: nothing to do"
        database.close()


def test_an_admin_left_without_a_password_gets_a_one_time_one_from_init(app, runner):
    Manager.update(password_hash="", one_time_password_hash="").where(Manager.login == "admin").execute()
    result = runner.invoke(args=["init"])
    assert "one-time password for admin" in result.output
    password = re.search(r"with the one-time password (\S+) ", result.output).group(1)
    assert Manager.get(Manager.login == "admin").has_one_time_password
    assert app.test_client().post("/login", data={"login": "admin", "password": password}).status_code == 302


def test_manager_password_command_gives_a_one_time_password(app, runner):
    result = runner.invoke(args=["manager", "password", "admin"])
    assert result.exit_code == 0, result.output
    password = re.search(r"One-time password of admin: (\S+) ", result.output).group(1)
    response = app.test_client().post("/login", data={"login": "admin", "password": password})
    assert response.headers["Location"] == "/password"
    assert runner.invoke(args=["manager", "password", "nobody"]).exit_code != 0


def test_an_english_installation_is_seeded_in_english(app_config, tmp_path):
    """BABEL_DEFAULT_LOCALE = "en": the seeded operator, group and currency
    names are English."""
    from lanbill import create_app
    from lanbill.db import database

    app = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'en.db'}",
                      "BABEL_DEFAULT_LOCALE": "en"})
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        database.connect(reuse_if_open=True)
        assert Operator.get().name == "Default operator"
        assert Group.get(Group.is_system == True).name == "All subscribers"  # noqa: E712
        assert Currency.get(Currency.code == "RUB").name == "Russian rouble"
        database.close()
