"""`flask init` (the embedded default's first data, idempotent), `flask
check` (balance = sum of ledger, DESIGN §4) and `flask token create`."""

from __future__ import annotations

from decimal import Decimal

from lanbill.billing.payments import post_payment
from lanbill.first_run import initialize
from lanbill.models import Agreement, Currency, Group, Manager, Operator, Role
from lanbill.models.staff import PERMISSIONS
from lanbill.staff.tokens import manager_for_token
from tests.factories import ACTOR, make_agreement


def test_init_creates_the_embedded_defaults(app):
    operator = Operator.get()
    assert operator.name == "Default operator" and operator.is_default
    rub = Currency.get(Currency.code == "RUB")
    assert rub.is_default and Currency.select().where(Currency.is_default == True).count() == 1  # noqa: E712
    group = Group.get(Group.is_system == True)  # noqa: E712
    assert group.name == "All subscribers"
    admin = Manager.get(Manager.login == "admin")
    assert admin.needs_password and admin.active
    assert admin.role.name == "Administrator" and admin.role.all_groups
    assert set(admin.role.permissions) == set(PERMISSIONS)


def test_init_twice_changes_nothing(app, runner):
    admin = Manager.get(Manager.login == "admin")
    admin.name = "Главный"
    admin.save()
    Operator.update(name="ООО «Сеть»").execute()
    assert initialize() == []
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
    assert initialize() == []
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
