"""Blocks (DESIGN §5): priorities, the balance block following available
funds, staff and user blocks, traffic-limit block lifted at the next
period, history of every transition."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from lanbill.billing import blocks
from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import post_payment
from lanbill.clock import midnight_utc
from lanbill.customers import agreements
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Account, AccountStateChange
from lanbill.models.accounts import BLOCK_KINDS, FLAG_FIELDS
from tests.billing_helpers import simulate, state, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def _free_account(agreement=None):
    return make_account(agreement or make_agreement(), tariff=make_tariff(rent="0"))


def test_balance_block_follows_available_funds_both_ways(app):
    agreement = make_agreement()
    account = _free_account(agreement)
    post_entry(agreement, Decimal("-0.01"), "correction", actor=ACTOR)
    assert state(account) == "balance"
    post_payment(agreement, "0.01", "p", actor=ACTOR)  # funds back to exactly zero
    assert state(account) == "active"


def test_credit_limit_change_sets_and_lifts_the_balance_block(app):
    agreement = make_agreement(credit_limit="100")
    account = _free_account(agreement)
    post_entry(agreement, Decimal("-60.00"), "correction", actor=ACTOR)
    assert state(account) == "active"
    agreements.set_credit_limit(agreement, "50", actor=ACTOR)
    assert state(account) == "balance"
    agreements.set_credit_limit(agreement, "60", actor=ACTOR)
    assert state(account) == "active"


def test_staff_cannot_lift_a_balance_block(app):
    agreement = make_agreement()
    account = _free_account(agreement)
    post_entry(agreement, Decimal("-5.00"), "correction", actor=ACTOR)
    with pytest.raises(Conflict):
        blocks.lift_block(Account.get_by_id(account.id), "balance", actor=ACTOR)
    assert state(account) == "balance"


def test_priorities_and_lifting_one_flag_reveals_the_next(app):
    agreement = make_agreement()
    account = _free_account(agreement)
    blocks.set_user_block(account, True, actor=ACTOR)
    assert state(account) == "user"
    blocks.block_by_staff(account, actor=ACTOR, reason="fraud check")
    assert state(account) == "admin"
    post_entry(agreement, Decimal("-1.00"), "correction", actor=ACTOR)
    assert state(account) == "balance"
    post_payment(agreement, "1.00", "p", actor=ACTOR)
    assert state(account) == "admin"
    blocks.unblock_by_staff(account, actor=ACTOR)
    assert state(account) == "user"


def test_staff_block_needs_a_reason_and_is_recorded(app):
    account = _free_account()
    with pytest.raises(ValidationError):
        blocks.block_by_staff(account, actor=ACTOR, reason="  ")
    blocks.block_by_staff(account, actor=ACTOR, reason="unpaid equipment")
    row = AccountStateChange.select().where(AccountStateChange.account == account.id).order_by(
        AccountStateChange.id.desc()).first()
    assert (row.flag, row.action, row.state_before, row.state_after, row.reason, row.actor) == (
        "admin", "set", "active", "admin", "unpaid equipment", ACTOR.label)


def test_traffic_limit_block_lifts_at_the_next_period(app):
    with travel("2026-01-30 12:00") as t:
        account = _free_account()
        simulate(t, "2026-01-30", "2026-01-30", run_at="13:00")
        t.move_to(dt.datetime(2026, 1, 30, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))))
        blocks.set_flag(account, "traffic", True, actor="netflow", reason="limit used up")
        simulate(t, "2026-01-31", "2026-01-31")
        assert state(account) == "traffic"
        simulate(t, "2026-02-01", "2026-02-01")
        assert state(account) == "active"
    lift = AccountStateChange.select().where(
        (AccountStateChange.account == account.id) & (AccountStateChange.flag == "traffic")
        & (AccountStateChange.action == "lift")).get()
    assert lift.at == midnight_utc(dt.date(2026, 2, 1))


def test_disconnect_date_sets_off_at_its_midnight(app):
    with travel("2026-01-10 12:00") as t:
        from lanbill.customers import accounts

        account = _free_account()
        accounts.update_account(account, {"disconnect_date": "2026-01-12"}, actor=ACTOR)
        simulate(t, "2026-01-11", "2026-01-12")
        assert state(account) == "off"
    row = AccountStateChange.select().where(AccountStateChange.flag == "off").get()
    assert row.at == midnight_utc(dt.date(2026, 1, 12))


def test_block_by_the_run_is_recorded_at_the_billing_midnight_even_when_late(app):
    """A job started at 00:07 records the balance block its advance caused
    at 00:00, so the day counts as blocked exactly as with a punctual job."""
    with travel("2026-01-01 00:00") as t:
        agreement = make_agreement()
        account = make_account(agreement, tariff=make_tariff(scheme="dynamic", rent="310.00"))
        simulate(t, "2026-01-01", "2026-01-02", run_at="00:07")
    row = AccountStateChange.select().where(AccountStateChange.flag == "balance").get()
    assert row.at == midnight_utc(dt.date(2026, 1, 1))
    assert blocks.state_at(Account.get_by_id(account.id), midnight_utc(dt.date(2026, 1, 1))) == "balance"


def test_set_flag_many_writes_the_same_history_as_set_flag(app):
    one, two = _free_account(), _free_account()
    blocks.set_user_block(two, True, actor=ACTOR)
    assert blocks.set_flag_many([one.id, two.id], "admin", True, actor=ACTOR, reason="bulk") == 2
    assert (state(one), state(two)) == ("admin", "admin")
    assert blocks.set_flag_many([one.id, two.id], "admin", True, actor=ACTOR, reason="bulk") == 0
    rows = list(AccountStateChange.select().where(AccountStateChange.reason == "bulk").order_by(
        AccountStateChange.account))
    assert [(r.state_before, r.state_after) for r in rows] == [("active", "admin"), ("user", "admin")]


# DESIGN §5's table, highest priority first; off comes after every block.
DESIGN_PRIORITY = ("balance", "admin", "traffic", "user")
FLAGS = (*DESIGN_PRIORITY, "off")


def _every_combination_of_flags():
    for values in itertools.product((False, True), repeat=len(FLAGS)):
        yield dict(zip(FLAGS, values, strict=True))


def _design_state(flags: dict) -> str:
    """The shown state as DESIGN §5 words it, written out independently."""
    set_blocks = [kind for kind in DESIGN_PRIORITY if flags[kind]]
    if set_blocks:
        return set_blocks[0]
    return "off" if flags["off"] else "active"


def test_block_priority_is_balance_admin_traffic_user_as_design_says():
    assert BLOCK_KINDS == DESIGN_PRIORITY
    assert list(FLAG_FIELDS) == list(FLAGS)


def test_model_state_and_blocks_state_agree_for_every_combination_of_flags():
    for flags in _every_combination_of_flags():
        account = Account(**{FLAG_FIELDS[flag]: value for flag, value in flags.items()})
        assert account.compute_state() == blocks.state_from_flags(flags) == _design_state(flags), flags


def test_state_stored_by_set_flag_and_set_flag_many_follows_the_priority(app):
    """Walk one account through every combination one flag at a time (set_flag)
    and a second one in step (set_flag_many): both store DESIGN §5's state."""
    one, two = _free_account(), _free_account()
    current = dict.fromkeys(FLAGS, False)
    for flags in _every_combination_of_flags():
        for flag in FLAGS:
            if current[flag] != flags[flag]:
                blocks.set_flag(one, flag, flags[flag], actor=ACTOR)
                blocks.set_flag_many([two.id], flag, flags[flag], actor=ACTOR)
                current[flag] = flags[flag]
        assert state(one) == state(two) == _design_state(flags), flags
