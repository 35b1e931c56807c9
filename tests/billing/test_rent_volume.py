"""The prepaid volume the usage engine asks for (V·N1/M, DESIGN §6), and
rent stopping at a deletion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill.billing import blocks
from lanbill.billing.payments import post_payment
from lanbill.billing.rent import MB, prepaid_volume_available
from lanbill.customers import accounts
from lanbill.models import TrafficCategory, TrafficHourly
from tests.billing_helpers import charged, simulate, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def test_prepaid_volume_shrinks_with_blocked_days_and_counts_prepaid_categories(app):
    with travel("2026-01-01 00:00") as t:
        tariff = make_tariff(scheme="dynamic", rent="650.00", prepaid_mb=3100)
        agreement = make_agreement()
        post_payment(agreement, "10000", "p", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)
        internet = TrafficCategory.create(tariff=tariff.id, name="Internet", prepaid=True)
        local_net = TrafficCategory.create(tariff=tariff.id, name="City", prepaid=False)
        for category, megabytes in ((internet, 100), (local_net, 900)):
            TrafficHourly.create(account_id=account.id, category_id=category.id,
                                 hour=dt.datetime(2026, 1, 5, 8), bytes_in=megabytes * MB, bytes_out=MB)
        simulate(t, "2026-01-01", "2026-01-21",
                 events=[("2026-01-11 00:00", lambda: blocks.block_by_staff(account, actor=ACTOR, reason="x"))])
    volume = prepaid_volume_available(account, dt.date(2026, 1, 20))
    # days 11..20 blocked: N1 = 31 − 10 = 21 (later days counted active): 3100 MB · 21/31 = 2100 MB
    assert volume.total_bytes == 2100 * MB
    assert volume.used_bytes == 101 * MB  # only the prepaid category, in + out
    assert volume.available_bytes == 1999 * MB and volume.beyond_bytes == 0
    assert (volume.period_start, volume.period_end) == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    none = prepaid_volume_available(make_account(tariff=make_tariff()), dt.date(2026, 1, 20))
    assert none.total_bytes == 0


def test_deleted_account_is_not_charged_from_the_deletion_day(app):
    with travel("2026-01-01 00:00") as t:
        agreement = make_agreement()
        post_payment(agreement, "10000", "p", actor=ACTOR)
        account = make_account(agreement, tariff=make_tariff(scheme="dynamic", rent="620.00"))
        simulate(t, "2026-01-01", "2026-01-11",
                 events=[("2026-01-11 15:00", lambda: accounts.delete_account(account, actor=ACTOR))])
        simulate(t, "2026-01-12", "2026-02-01")
    # days 1..10: round(620·10/31) = 200.00; nothing for February
    assert charged(account) == Decimal("200.00")
