"""Service passwords (DESIGN §8: nothing logs in with an empty password):
an account of an agent that checks passwords (RADIUS) cannot be created or
edited with an empty one; an agent that authorises by IP alone (NetFlow)
needs none."""

from __future__ import annotations

import pytest

from lanbill.customers import accounts
from lanbill.customers.accounts import SERVICE_PASSWORD_REQUIRED
from lanbill.errors import ValidationError
from lanbill.models import Account
from lanbill.network.radius_access import needs_service_password
from tests.admin_helpers import ru
from tests.factories import ACTOR, make_account, make_agent, make_agreement, make_tariff, table_counts


def test_only_agents_that_check_passwords_need_one():
    assert needs_service_password("radius")
    assert not needs_service_password("netflow") and not needs_service_password("usbox")


@pytest.mark.parametrize("password", ["", None, "missing"])
def test_radius_account_without_a_password_is_refused_and_nothing_is_saved(app, password):
    agreement, agent, tariff = make_agreement(), make_agent(), make_tariff()
    data = {"agreement_id": agreement.id, "agent_id": agent.id, "tariff_id": tariff.id, "login": "nopass"}
    if password != "missing":
        data["password"] = password
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        accounts.create_account(data, actor=ACTOR)
    assert refused.value.fields == {"password": SERVICE_PASSWORD_REQUIRED}
    assert table_counts() == before


def test_account_of_an_agent_that_authorises_by_ip_needs_no_password(app):
    agent = make_agent(type="netflow")
    account = make_account(agent=agent, password="", ips=["10.7.0.1"])
    assert account.password == ""
    assert accounts.update_account(account, {"description": "by IP"}, actor=ACTOR).description == "by IP"


def test_editing_refuses_an_empty_password_and_an_account_left_without_one(app):
    account = make_account(password="pw-1")
    with pytest.raises(ValidationError) as refused:
        accounts.update_account(account, {"password": ""}, actor=ACTOR)
    assert refused.value.fields == {"password": SERVICE_PASSWORD_REQUIRED}
    assert Account.get_by_id(account.id).password == "pw-1"
    Account.update(password="").where(Account.id == account.id).execute()  # stored before the rule
    with pytest.raises(ValidationError):
        accounts.update_account(account, {"description": "x"}, actor=ACTOR)
    assert Account.get_by_id(account.id).description == ""
    updated = accounts.update_account(account, {"password": "new-pw", "description": "x"}, actor=ACTOR)
    assert updated.password == "new-pw"


def test_admin_form_without_a_password_shows_why_and_saves_nothing(client, admin, login_as):
    agreement, agent, tariff = make_agreement(), make_agent(), make_tariff()
    login_as()
    response = client.post(f"/admin/accounts/new?subscriber={agreement.subscriber_id}", data={
        "agreement_id": agreement.id, "agent_id": agent.id, "tariff_id": tariff.id, "login": "formless",
        "connect_date": "2026-01-01", "bandwidth_kbit": "0", "max_sessions": "1"})
    assert response.status_code == 422
    assert ru(SERVICE_PASSWORD_REQUIRED) in response.get_data(as_text=True)
    assert Account.select().count() == 0
