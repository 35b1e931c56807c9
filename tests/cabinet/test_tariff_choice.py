"""Tariff change from the next period: staff mark on the tariff screen
which tariffs are selectable from it; the cabinet offers them per account,
plans the change for the 1st of next month, explains refusals and lets the
subscriber cancel their own planned change."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from lanbill import clock
from lanbill.billing import tariff_choice, tariff_schedule
from lanbill.customers import cabinet
from lanbill.errors import Conflict, NotFound, ValidationError
from lanbill.models import Account, AuditLog, Tariff, TariffChange
from lanbill.models.cabinet import SelectableTariff
from tests.admin_helpers import ru
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import ACTOR, make_tariff, table_counts


@pytest.fixture
def setup(app):
    subscriber, agreement, account = make_cabinet_subscriber(name="Тарифов Павел")
    fast = make_tariff(name="Быстрый 200", rent="900.00")
    cheap = make_tariff(name="Эконом", rent="300.00")
    hidden = make_tariff(name="Скрытый")
    tariff_choice.set_selectable(account.tariff, [fast.id, cheap.id], actor=ACTOR)
    return subscriber, agreement, account, fast, cheap, hidden


def _me(subscriber):
    return cabinet.subscriber_actor(subscriber, "192.0.2.8")


def test_next_period_is_the_first_of_next_month():
    assert tariff_choice.next_period_start(dt.date(2026, 1, 31)) == dt.date(2026, 2, 1)
    assert tariff_choice.next_period_start(dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)


def test_staff_marks_replace_the_list_and_are_audited(setup):
    _, _, account, fast, cheap, hidden = setup
    assert tariff_choice.selectable_ids(account.tariff) == sorted([fast.id, cheap.id])
    tariff_choice.set_selectable(account.tariff, [hidden.id, account.tariff_id], actor=ACTOR)  # itself dropped
    assert tariff_choice.selectable_ids(account.tariff) == [hidden.id]
    assert AuditLog.select().where(AuditLog.action == "tariff.selectable").count() == 2
    with pytest.raises(ValidationError):
        tariff_choice.set_selectable(account.tariff, [99999], actor=ACTOR)
    assert tariff_choice.selectable_ids(account.tariff) == [hidden.id]


def test_archived_tariffs_are_not_offered(setup):
    _, _, account, fast, cheap, _ = setup
    Tariff.update(archived=True).where(Tariff.id == cheap.id).execute()
    assert [t.id for t in tariff_choice.offered(account.tariff_id)] == [fast.id]


def test_choosing_plans_a_change_for_the_next_period(setup):
    subscriber, _, account, fast, _, _ = setup
    change = tariff_choice.choose(account, fast.id, actor=_me(subscriber))
    assert change.applied_at is None and change.tariff_id == fast.id
    assert clock.local_date_of(change.at) == tariff_choice.next_period_start()
    assert change.actor == f"subscriber:{subscriber.id}"
    assert Account.get_by_id(account.id).tariff_id == account.tariff_id  # this month: the current tariff
    assert AuditLog.select().where(AuditLog.action == "account.tariff_planned").count() == 1


@pytest.mark.parametrize("case", ["hidden", "current", "unknown", "garbage"])
def test_a_tariff_not_offered_is_refused_and_nothing_changes(setup, case):
    subscriber, _, account, _, _, hidden = setup
    value = {"hidden": hidden.id, "current": account.tariff_id, "unknown": 99999, "garbage": "x"}[case]
    before = table_counts()
    with pytest.raises(ValidationError):
        tariff_choice.choose(account, value, actor=_me(subscriber))
    assert table_counts() == before


def test_one_planned_change_at_a_time_and_only_own_ones_are_cancelled(setup):
    subscriber, _, account, fast, cheap, _ = setup
    staff_change = tariff_schedule.plan_change(account, cheap, "2099-01-01", actor=ACTOR)
    with pytest.raises(Conflict):
        tariff_choice.choose(account, fast.id, actor=_me(subscriber))
    with pytest.raises(Conflict) as caught:
        tariff_choice.cancel_own(account, staff_change.id, actor=_me(subscriber))
    assert caught.value.message == "This change was planned by your provider; ask support to cancel it."
    tariff_schedule.cancel_change(staff_change, actor=ACTOR)
    mine = tariff_choice.choose(account, fast.id, actor=_me(subscriber))
    tariff_choice.cancel_own(account, mine.id, actor=_me(subscriber))
    assert TariffChange.get_by_id(mine.id).cancelled_at is not None
    _, _, other_account = make_cabinet_subscriber()
    with pytest.raises(NotFound):
        tariff_choice.cancel_own(other_account, mine.id, actor=_me(subscriber))


def test_a_disconnected_account_cannot_choose(setup):
    subscriber, _, account, fast, _, _ = setup
    Account.update(is_off=True).where(Account.id == account.id).execute()
    with pytest.raises(Conflict):
        tariff_choice.choose(account, fast.id, actor=_me(subscriber))


def test_the_cabinet_page_offers_plans_and_cancels(client, setup):
    subscriber, agreement, account, fast, cheap, hidden = setup
    log_in(client, agreement.number)
    changes = TariffChange.select().count()
    page = text_of(client.get("/tariffs"))
    assert "Быстрый 200" in page and "Эконом" in page and "Скрытый" not in page
    forged = client.post(f"/accounts/{account.id}/tariff", data={f"a{account.id}-tariff": str(hidden.id)})
    assert forged.status_code == 302
    assert ru("This tariff cannot be chosen from your current tariff.") in text_of(client.get("/tariffs"))
    assert TariffChange.select().count() == changes
    done = submit(client, "/tariffs", {f"a{account.id}-tariff": str(fast.id)},
                  action=f"/accounts/{account.id}/tariff")
    assert done.status_code == 302
    page = text_of(client.get("/tariffs"))
    assert f'id="pending-{account.id}"' in page
    home = text_of(client.get("/"))
    assert "Быстрый 200" in home  # the home page shows the next tariff
    cancel = submit(client, "/tariffs", {}, action=f"/accounts/{account.id}/tariff/cancel")
    assert cancel.status_code == 302
    assert ru("The planned tariff change is cancelled.") in text_of(client.get("/tariffs"))
    assert TariffChange.select().order_by(TariffChange.id.desc()).first().cancelled_at is not None


def test_the_admin_tariff_screen_renders_and_saves_the_marks(client, admin, login_as, setup):
    _, _, account, fast, cheap, hidden = setup
    login_as()
    page = text_of(client.get(f"/admin/tariffs/{account.tariff_id}"))
    assert 'id="selectable"' in page and "Скрытый" in page
    boxes = [tag for tag in re.findall(r"<input[^>]*>", page) if 'name="selectable"' in tag]
    checked = {re.search(r'value="(\d+)"', tag).group(1) for tag in boxes if "checked" in tag}
    assert checked == {str(fast.id), str(cheap.id)} and len(boxes) == 3
    response = submit(client, f"/admin/tariffs/{account.tariff_id}", {"selectable": str(hidden.id)},
                      action=f"/admin/tariffs/{account.tariff_id}/selectable")
    assert response.status_code == 302
    assert tariff_choice.selectable_ids(account.tariff_id) == [hidden.id]
    assert SelectableTariff.select().count() == 1
