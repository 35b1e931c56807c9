"""Time and volume charging from RADIUS sessions (lanbill/billing/time_charging.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill.billing.time_charging import charge_time, move_radius_volume
from lanbill.models import Agreement, LedgerEntry, TrafficHourly
from lanbill.models.radius import RadiusSession
from tests.factories import make_account, make_nas, make_tariff


def _session(account, nas, started, seconds, sid, down=0, up=0):
    return RadiusSession.create(agent_id=account.agent_id, nas_id=nas.id, account_id=account.id,
                                login=account.login, acct_session_id=sid, started_at=started,
                                updated_at=started + dt.timedelta(seconds=seconds),
                                state_changed_at=started, session_time=seconds, output_octets=down,
                                input_octets=up)


def test_per_minute_charge_after_prepaid_minutes_cumulative_and_idempotent(app):
    tariff = make_tariff(price_per_minute="0.50", prepaid_minutes=10, rent="0")
    account = make_account(tariff=tariff)
    nas = make_nas()
    now = dt.datetime(2026, 11, 20, 12, 0)
    session = _session(account, nas, dt.datetime(2026, 11, 20, 10, 0), 30 * 60 + 1, "t1")
    before = Agreement.get_by_id(account.agreement_id).balance
    assert charge_time(now) == 1
    assert charge_time(now) == 0  # re-run: nothing more
    # 31 minutes (rounded up) − 10 prepaid = 21 × 0.50
    assert Agreement.get_by_id(account.agreement_id).balance == before - Decimal("10.50")
    RadiusSession.update(session_time=60 * 60).where(RadiusSession.id == session.id).execute()
    assert charge_time(now) == 1
    assert Agreement.get_by_id(account.agreement_id).balance == before - Decimal("25.00")
    assert LedgerEntry.select().where(LedgerEntry.kind == "time").count() == 2


def test_session_before_the_month_counts_only_its_part_inside(app):
    tariff = make_tariff(price_per_minute="1.00", rent="0")
    account = make_account(tariff=tariff)
    nas = make_nas()
    # Moscow midnight of 1 Nov is 21:00 UTC 31 Oct: a session 20:00-22:00 UTC has 60 min in November
    _session(account, nas, dt.datetime(2026, 10, 31, 20, 0), 2 * 3600, "t2")
    before = Agreement.get_by_id(account.agreement_id).balance
    charge_time(dt.datetime(2026, 11, 2, 0, 0))
    assert Agreement.get_by_id(account.agreement_id).balance == before - Decimal("60.00")


def test_radius_volume_moves_into_hourly_counters_once(app):
    tariff = make_tariff(volume_source="radius")
    account = make_account(tariff=tariff)
    other = make_account()
    nas = make_nas()
    _session(account, nas, dt.datetime(2026, 11, 20, 10, 0), 600, "v1", down=5000, up=700)
    _session(other, nas, dt.datetime(2026, 11, 20, 10, 0), 600, "v2", down=9, up=9)
    assert move_radius_volume() == 1
    assert move_radius_volume() == 0
    row = TrafficHourly.get(TrafficHourly.account_id == account.id)
    assert (row.bytes_in, row.bytes_out, row.category_id) == (5000, 700, None)
    assert not TrafficHourly.select().where(TrafficHourly.account_id == other.id).exists()
