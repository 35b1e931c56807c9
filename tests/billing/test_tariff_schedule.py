"""Planned tariff changes (DESIGN §6): at a time, or 00:00 of the date;
applied by the worker; the change day belongs to the new tariff; service
is never interrupted; history kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import tariff_schedule
from lanbill.billing.payments import post_payment
from lanbill.billing.run import run_due
from lanbill.clock import midnight_utc, to_utc
from lanbill.errors import Conflict
from lanbill.models import Account, AccountStateChange, TariffChange
from tests.billing_helpers import charged, local, simulate, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def _setup():
    agreement = make_agreement()
    post_payment(agreement, "10000", "p", actor=ACTOR)
    old = make_tariff(scheme="daily", rent="620.00")
    new = make_tariff(scheme="daily", rent="310.00", speed_in_kbit=50000)
    return make_account(agreement, tariff=old), old, new


def test_change_planned_for_a_date_applies_at_its_midnight(app):
    with travel("2026-03-05 15:00") as t:
        account, old, new = _setup()
        change = tariff_schedule.plan_change(account, new, "2026-03-10", actor=ACTOR)
        assert change.at == midnight_utc(dt.date(2026, 3, 10)) and change.applied_at is None
        simulate(t, "2026-03-06", "2026-03-09")
        assert Account.get_by_id(account.id).tariff_id == old.id
        simulate(t, "2026-03-10", "2026-03-10")
        assert Account.get_by_id(account.id).tariff_id == new.id
    # 05..09 at 620 (days 5..9 of 31: round(620·9/31) − round(620·4/31) = 180 − 80 = 100.00),
    # the 10th at 310 (round(310·10/31) − round(310·9/31) = 100 − 90 = 10.00)
    assert charged(account) == Decimal("110.00")
    assert not AccountStateChange.select().where(AccountStateChange.account == account.id).exists()


def test_change_planned_for_a_time_applies_then_and_the_day_is_the_new_tariffs(app):
    with travel("2026-03-05 09:00") as t:
        account, old, new = _setup()
        tariff_schedule.plan_change(account, new, "2026-03-05T14:30:00", actor=ACTOR)
        simulate(t, "2026-03-05", "2026-03-05", run_at="10:00")
        assert Account.get_by_id(account.id).tariff_id == old.id
        t.move_to(local("2026-03-05 14:35"))
        run_due()
        assert Account.get_by_id(account.id).tariff_id == new.id
        change = TariffChange.select().where(TariffChange.tariff == new.id).get()
        assert change.at == to_utc(dt.datetime(2026, 3, 5, 14, 30))
    # the 5th: 620's day share refunded, 310's charged: round(310·5/31) − round(310·4/31) = 50 − 40 = 10.00
    assert charged(account) == Decimal("10.00")


def test_late_worker_applies_with_the_planned_moment(app):
    with travel("2026-03-01 12:00") as t:
        account, old, new = _setup()
        simulate(t, "2026-03-01", "2026-03-01", run_at="13:00")
        tariff_schedule.plan_change(account, new, "2026-03-03", actor=ACTOR)
        t.move_to(local("2026-03-05 00:00"))
        run_due()  # the worker was down for the 2nd..4th
    # 1st, 2nd at 620: round(620·2/31) = 40.00; 3rd..5th at 310: round(310·5/31) − round(310·2/31) = 50 − 20 = 30.00
    assert charged(account) == Decimal("70.00")


def test_cancel_planned_change_and_history(app):
    with travel("2026-03-05 15:00"):
        account, old, new = _setup()
        change = tariff_schedule.plan_change(account, new, "2026-03-10", actor=ACTOR)
        tariff_schedule.cancel_change(change, actor=ACTOR)
        assert tariff_schedule.apply_due(midnight_utc(dt.date(2026, 3, 11))) == 0
        with pytest.raises(Conflict):
            tariff_schedule.cancel_change(TariffChange.select().where(TariffChange.applied_at.is_null(False)).get(),
                                          actor=ACTOR)
        states = [c.cancelled_at is not None for c in tariff_schedule.history(account)]
    assert states == [True, False]


def test_api_tariff_changes(app, api):
    with travel("2026-03-05 15:00"):
        account, old, new = _setup()
        planned = api.post(f"/accounts/{account.id}/tariff-changes", json={"tariff_id": new.id, "at": "2026-04-01"})
        assert planned.status_code == 201, planned.json
        assert planned.json["state"] == "planned" and planned.json["at"].startswith("2026-03-31T21:00")
        now = api.post(f"/accounts/{account.id}/tariff-changes", json={"tariff_id": new.id})
        assert now.status_code == 201 and now.json["state"] == "applied"
        listing = api.get(f"/accounts/{account.id}/tariff-changes")
        assert len(listing.json["items"]) == 3
        cancelled = api.delete(f"/accounts/{account.id}/tariff-changes/{planned.json['id']}")
        assert cancelled.json["state"] == "cancelled"
        bad = api.post(f"/accounts/{account.id}/tariff-changes", json={"tariff_id": new.id, "at": "soon"})
        assert bad.status_code == 422
        unknown = api.post(f"/accounts/{account.id}/tariff-changes", json={"tariff_id": 9999})
        assert unknown.status_code == 422
