"""Admin account screens: list filters and search, the form with the exact
login errors, stale forms, block/unblock with a reason, state history,
planned tariff changes, delete."""

from __future__ import annotations

import datetime as dt

from lanbill.customers.accounts import login_error
from lanbill.models import Account, AccountStateChange, TariffChange
from tests.admin_helpers import ru
from tests.factories import make_account, make_agent, make_agreement, make_tariff


def test_list_filters_by_agent_state_tariff_and_searches_contains(client, admin, login_as):
    agent, tariff = make_agent(name="nas-west"), make_tariff(name="Быстрый")
    one = make_account(login="alexandr", agent=agent, tariff=tariff, ips=["10.1.2.3/32"])
    two = make_account(login="boris")
    from lanbill.billing import blocks
    from tests.factories import ACTOR

    blocks.block_by_staff(two, actor=ACTOR, reason="долг")
    login_as()
    assert "alexandr" in client.get("/admin/accounts?q=EXAN&by=login").get_data(as_text=True)
    assert "boris" not in client.get("/admin/accounts?q=EXAN&by=login").get_data(as_text=True)
    assert "alexandr" in client.get("/admin/accounts?q=1.2.3&by=ip").get_data(as_text=True)
    page = client.get(f"/admin/accounts?agent={agent.id}").get_data(as_text=True)
    assert "alexandr" in page and "boris" not in page
    page = client.get(f"/admin/accounts?tariff={tariff.id}").get_data(as_text=True)
    assert "alexandr" in page and "boris" not in page
    page = client.get("/admin/accounts?state=admin").get_data(as_text=True)
    assert "boris" in page and "alexandr" not in page
    csv = client.get("/admin/accounts?format=csv").get_data(as_text=True)
    assert "alexandr" in csv and "10.1.2.3/32" in csv and one.login in csv


def test_create_account_shows_the_exact_login_error_and_saves_nothing(client, admin, login_as):
    agreement = make_agreement()
    agent, tariff = make_agent(), make_tariff()
    login_as()
    base = {"agreement_id": agreement.id, "agent_id": agent.id, "tariff_id": tariff.id, "password": "pw-123456",
            "connect_date": "2026-01-01", "bandwidth_kbit": "0", "max_sessions": "1"}
    for login in ["иван", "ivan petrov", "a" * 65, ""]:
        url = f"/admin/accounts/new?subscriber={agreement.subscriber_id}"
        response = client.post(url, data=dict(base, login=login))
        assert response.status_code == 422
        assert ru(login_error(login)) in response.get_data(as_text=True), login
    assert Account.select().count() == 0
    response = client.post(f"/admin/accounts/new?subscriber={agreement.subscriber_id}",
                           data=dict(base, login="ivan_p", ips="10.9.9.9"))
    assert response.status_code == 302
    account = Account.get(Account.login == "ivan_p")
    assert [ip.network for ip in account.ips] == ["10.9.9.9/32"]


def test_login_unique_within_agent(client, admin, login_as):
    first = make_account(login="dup")
    login_as()
    response = client.post(f"/admin/accounts/new?subscriber={first.subscriber_id}", data={
        "agreement_id": first.agreement_id, "agent_id": first.agent_id, "tariff_id": first.tariff_id,
        "login": "dup", "password": "pw-1", "bandwidth_kbit": "0", "max_sessions": "1"})
    assert response.status_code == 409
    assert ru("Already used within this agent.") in response.get_data(as_text=True)


def test_edit_refuses_a_stale_form(client, admin, login_as):
    account = make_account(login="stale")
    login_as()
    data = {"version": str(account.version), "tariff_id": account.tariff_id, "login": "stale2",
            "bandwidth_kbit": "512", "max_sessions": "2", "connect_date": account.connect_date.isoformat()}
    assert client.post(f"/admin/accounts/{account.id}", data=data).status_code == 302
    assert Account.get_by_id(account.id).bandwidth_kbit == 512
    response = client.post(f"/admin/accounts/{account.id}", data=dict(data, login="stale3"))
    assert response.status_code == 409
    assert Account.get_by_id(account.id).login == "stale2"


def test_block_needs_a_reason_then_unblock_and_history(client, admin, login_as):
    account = make_account(login="blk")
    login_as()
    page = client.post(f"/admin/accounts/{account.id}/block", data={"b-reason": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert ru("Give a reason for the block.") in page
    assert Account.get_by_id(account.id).state == "active"
    client.post(f"/admin/accounts/{account.id}/block", data={"b-reason": "Жалоба на спам"})
    assert Account.get_by_id(account.id).state == "admin"
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert "Жалоба на спам" in page and 'id="unblock"' in page
    client.post(f"/admin/accounts/{account.id}/unblock", data={"b-reason": "Разобрались"})
    assert Account.get_by_id(account.id).state == "active"
    assert AccountStateChange.select().where(AccountStateChange.account == account.id).count() == 2


def test_planned_tariff_change_is_listed(client, admin, login_as):
    account = make_account(login="plan")
    other = make_tariff(name="Будущий")
    login_as()
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post(f"/admin/accounts/{account.id}/plan", data={"plan-tariff_id": other.id, "plan-date": day,
                                                            "plan-time": "03:00"})
    change = TariffChange.get((TariffChange.account == account.id) & (TariffChange.tariff == other.id))
    assert change.applied_at is None
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert "Будущий" in page and ru("planned") in page
    assert f"/admin/accounts/{account.id}/plan/{change.id}/cancel" in page


def test_planned_tariff_change_can_be_cancelled_until_applied(client, admin, login_as):
    account = make_account(login="unplan")
    other = make_tariff(name="Передумали")
    login_as()
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post(f"/admin/accounts/{account.id}/plan", data={"plan-tariff_id": other.id, "plan-date": day,
                                                            "plan-time": "03:00"})
    change = TariffChange.get((TariffChange.account == account.id) & (TariffChange.tariff == other.id))
    response = client.post(f"/admin/accounts/{account.id}/plan/{change.id}/cancel")
    assert response.status_code == 302
    assert TariffChange.get_by_id(change.id).cancelled_at is not None
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert ru("cancelled") in page and f"/plan/{change.id}/cancel" not in page
    # another account's change through this account's URL: not found, nothing changes
    stranger = make_account(login="stranger")
    assert client.post(f"/admin/accounts/{stranger.id}/plan/{change.id}/cancel").status_code == 404


def test_delete_marks_deleted_and_keeps_history(client, admin, login_as):
    account = make_account(login="gone")
    login_as()
    client.post(f"/admin/accounts/{account.id}/delete")
    assert Account.get_by_id(account.id).deleted
    assert "gone" not in client.get("/admin/accounts").get_data(as_text=True)
    assert "gone" in client.get("/admin/accounts?deleted=1").get_data(as_text=True)
    assert client.get(f"/admin/accounts/{account.id}").status_code == 200
