"""Accounts (seed 002 «Учетные записи»): login rules, IPs, soft delete,
balance block on creation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.billing import blocks, payments
from lanbill.customers import accounts
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Account, AccountIp, AccountStateChange
from tests.factories import ACTOR, make_account, make_agent, make_agreement


@pytest.mark.parametrize(
    "login, message",
    [
        ("", "Login is required."),
        ("иван", "Login may contain only Latin letters: national alphabets are not allowed."),
        ("ivan petrov", "Login may not contain spaces or special characters; use Latin letters, digits, _ and -."),
        ("ivan.petrov", "Login may not contain spaces or special characters; use Latin letters, digits, _ and -."),
        ("a" * 65, "Login may be at most 64 characters long."),
        ("ivan_petrov-2", None),
    ],
)
def test_login_rules_each_with_its_message(login, message):
    assert accounts.login_error(login) == message


def test_login_unique_within_agent_only(app):
    agent = make_agent()
    make_account(agent=agent, login="alexandr")
    with pytest.raises(Conflict) as info:
        make_account(agent=agent, login="alexandr")
    assert "login" in info.value.fields
    other = make_account(agent=make_agent(), login="alexandr")
    assert other.login == "alexandr"


def test_deleted_account_frees_login_and_keeps_history(app):
    agent = make_agent()
    old = make_account(agent=agent, login="reuse")
    accounts.delete_account(old, actor=ACTOR)
    assert Account.get_by_id(old.id).deleted
    new = make_account(agent=agent, login="reuse")
    assert new.id != old.id


def test_ips_normalised_and_not_shared(app):
    account = make_account(ips=["10.0.0.5", "10.1.0.0/24"])
    assert sorted(ip.network for ip in AccountIp.select().where(AccountIp.account == account.id)) == [
        "10.0.0.5/32", "10.1.0.0/24"]
    with pytest.raises(Conflict):
        make_account(ips=["10.0.0.5"])
    with pytest.raises(ValidationError):
        make_account(ips=["10.1.0.5/24"])  # host bits set: refused, not changed
    with pytest.raises(ValidationError):
        make_account(ips=["not-an-ip"])


def test_account_on_negative_funds_starts_balance_blocked_and_payment_lifts(app):
    agreement = make_agreement()
    payments.set_balance_to(agreement, "-10", "C-1", actor=ACTOR)
    account = make_account(agreement=agreement)
    assert account.state == "balance"
    with pytest.raises(Conflict):
        blocks.lift_block(account, "balance", actor=ACTOR)
    payments.post_payment(agreement, "10", "P-1", actor=ACTOR)
    assert Account.get_by_id(account.id).state == "active"
    flags = [(c.flag, c.action) for c in AccountStateChange.select().order_by(AccountStateChange.id)]
    assert flags == [("balance", "set"), ("balance", "lift")]


def test_block_priorities_and_reveal(app):
    account = make_account()
    blocks.set_user_block(account, True, actor=ACTOR)
    assert Account.get_by_id(account.id).state == "user"
    blocks.block_by_staff(account, actor=ACTOR, reason="долг по договору")
    assert Account.get_by_id(account.id).state == "admin"
    blocks.unblock_by_staff(account, actor=ACTOR)
    assert Account.get_by_id(account.id).state == "user"  # lifting one reveals the next
    with pytest.raises(ValidationError):
        blocks.block_by_staff(account, actor=ACTOR, reason=" ")


def test_credit_limit_lifts_balance_block(app):
    from lanbill.customers import agreements

    agreement = make_agreement()
    payments.set_balance_to(agreement, "-100", "C-2", actor=ACTOR)
    account = make_account(agreement=agreement)
    assert account.state == "balance"
    agreements.set_credit_limit(agreement, "100,00", actor=ACTOR)
    assert Account.get_by_id(account.id).state == "active"
    assert blocks.available_funds(agreement.__class__.get_by_id(agreement.id)) == Decimal("0.00")
