"""Property: for random sequences of payments, blocks, credit changes,
tariff changes and billing runs (some nights skipped), every balance equals
the sum of its ledger, no period is charged twice, and a dynamic month
costs exactly Σ share(rate of the day, d) of the state history — what
DESIGN §6 says, whatever the order and timing of the runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanbill.billing import blocks, tariff_schedule
from lanbill.billing.ledger import check_invariant
from lanbill.billing.payments import post_payment
from lanbill.billing.periods import day_share, days
from lanbill.billing.rent import rate_state, tariff_rates
from lanbill.billing.run import run_due
from lanbill.clock import local_date_of, midnight_utc
from lanbill.customers import agreements
from lanbill.models import Account, LedgerEntry, Setting, Tariff, TariffChange
from lanbill.models.billing import BillingDay
from tests.billing_helpers import local, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff

START = dt.date(2026, 1, 1)
END = dt.date(2026, 2, 1)  # the last run: everything of January billed

EVENT = st.tuples(
    st.integers(0, 30),  # day offset from START
    st.integers(1, 23),  # hour
    st.sampled_from(["pay", "staff_block", "staff_unblock", "user_block", "user_unblock", "credit", "tariff", "run"]),
    st.integers(0, 2),  # which tariff / how much
)


def _apply(kind, arg, ctx):
    account = Account.get_by_id(ctx["account"].id)
    if kind == "pay":
        post_payment(ctx["agreement"], ("150.00", "400.00", "1000.00")[arg], "p", actor=ACTOR)
    elif kind == "staff_block":
        blocks.block_by_staff(account, actor=ACTOR, reason="random")
    elif kind == "staff_unblock":
        blocks.unblock_by_staff(account, actor=ACTOR)
    elif kind == "user_block":
        blocks.set_user_block(account, True, actor=ACTOR)
    elif kind == "user_unblock":
        blocks.set_user_block(account, False, actor=ACTOR)
    elif kind == "credit":
        agreements.set_credit_limit(ctx["agreement"], ("0", "300", "900")[arg], actor=ACTOR)
    elif kind == "tariff":
        if ctx["tariffs"][arg].id != account.tariff_id:
            tariff_schedule.change_tariff_now(account, ctx["tariffs"][arg], actor=ACTOR)
    elif kind == "run":
        run_due()


def _expected_dynamic(account: Account, month_first: dt.date, month_last: dt.date) -> Decimal:
    """Σ share(rate_d, d) over the days with a tariff, from the histories."""
    changes = list(TariffChange.select().where((TariffChange.account == account.id)
                                               & TariffChange.applied_at.is_null(False))
                   .order_by(TariffChange.at, TariffChange.id))
    tariffs = {t.id: t for t in Tariff.select()}
    total = Decimal("0.00")
    for day in days(month_first, month_last):
        current = [c for c in changes if local_date_of(c.at) <= day]
        if not current:
            continue
        tariff = tariffs[current[-1].tariff_id]
        rate = tariff_rates(tariff)[rate_state(account, midnight_utc(day))]
        total += day_share(rate, day)
    return total


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENT, max_size=12), nights=st.lists(st.booleans(), min_size=31, max_size=31))
def test_random_histories_keep_the_ledger_exact(app, events, nights):
    BillingDay.delete().execute()
    Setting.delete().where(Setting.key == "billing.checkpoint").execute()
    with travel(f"{START} 00:00") as t:
        tariffs = [make_tariff(scheme="dynamic", rent="650.00", rent_blocked="0"),
                   make_tariff(scheme="dynamic", rent="310.00", rent_blocked="50.00"),
                   make_tariff(scheme="dynamic", rent="99.99", rent_blocked="0", rent_user_blocked="10.00")]
        agreement = make_agreement()
        post_payment(agreement, "500.00", "first", actor=ACTOR)
        account = make_account(agreement, tariff=tariffs[0])
        ctx = {"agreement": agreement, "account": account, "tariffs": tariffs}
        timeline = [(local(f"{START + dt.timedelta(days=d)} {h:02d}:00"), kind, arg) for d, h, kind, arg in events]
        timeline += [(local(f"{START + dt.timedelta(days=d)} 00:05"), "run", 0)
                     for d, run in enumerate(nights) if run or d == 0]
        timeline.append((local(f"{END} 00:05"), "run", 0))
        for moment, kind, arg in sorted(timeline, key=lambda item: item[0]):
            t.move_to(moment)
            _apply(kind, arg, ctx)

    assert check_invariant() == []
    entries = list(LedgerEntry.select().where(LedgerEntry.account_id == account.id))
    keys = [e.idempotency_key for e in entries if e.idempotency_key]
    assert len(keys) == len(set(keys))
    corrections_per_day = {}
    for entry in entries:
        if entry.idempotency_key and ":corr:" in entry.idempotency_key:
            corrections_per_day[entry.period_start] = corrections_per_day.get(entry.period_start, 0) + 1
    assert all(count == 1 for count in corrections_per_day.values())  # no day corrected twice
    fresh = Account.get_by_id(account.id)
    for first, last in ((dt.date(2026, 1, 1), dt.date(2026, 1, 31)),):
        charged = -sum((e.amount for e in entries
                        if e.kind in ("rent", "rent_correction") and first <= e.period_start <= last), Decimal("0.00"))
        assert charged == _expected_dynamic(fresh, first, last), (first, events)
