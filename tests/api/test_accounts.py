"""API: accounts — create, read with state and blocks, update, soft delete,
staff/user blocks; bad input refused with nothing written."""

from __future__ import annotations

import pytest

from lanbill.models import Account, AccountStateChange, TariffChange
from tests.factories import make_account, make_agent, make_agreement, make_tariff, table_counts


@pytest.fixture
def parts(app):
    return {"agreement": make_agreement(), "agent": make_agent(), "tariff": make_tariff()}


def account_data(parts, **over):
    data = {"agreement_id": parts["agreement"].id, "agent_id": parts["agent"].id,
            "tariff_id": parts["tariff"].id, "login": "ivanov_1", "password": "s3cret-pw",
            "ips": ["10.20.0.5", "10.30.0.0/30"]}
    data.update(over)
    return data


def test_create_account_returns_it_without_the_password(api, parts):
    response = api.post("/accounts", json=account_data(parts, mac="AA-BB-CC-DD-EE-01", max_sessions=2))
    assert response.status_code == 201, response.json
    body = response.json
    assert "password" not in body
    assert body["login"] == "ivanov_1" and body["ips"] == ["10.20.0.5/32", "10.30.0.0/30"]
    assert body["mac"] == "aa:bb:cc:dd:ee:01" and body["max_sessions"] == 2
    assert body["state"] == "active" and body["blocks"] == []
    assert body["subscriber_id"] == parts["agreement"].subscriber_id
    assert Account.get_by_id(body["id"]).password == "s3cret-pw"
    assert api.get(f"/accounts/{body['id']}").json == body


def test_new_account_of_agreement_in_debt_starts_balance_blocked(api, parts):
    from lanbill.billing import payments
    from tests.factories import ACTOR

    payments.set_balance_to(parts["agreement"], "-10", "K-1", actor=ACTOR)
    body = api.post("/accounts", json=account_data(parts)).json
    assert body["state"] == "balance" and [b["kind"] for b in body["blocks"]] == ["balance"]


BAD_ACCOUNTS = [
    ({"login": "иванов"}, "login"),  # non-Latin login
    ({"login": "ivan ov"}, "login"),
    ({"login": "ivan@ov"}, "login"),
    ({"login": 12345}, "login"),  # wrong type
    ({"login": ""}, "login"),
    ({"login": "x" * 65}, "login"),
    ({"agreement_id": 999999}, "agreement_id"),  # unknown agreement
    ({"agreement_id": "1"}, "agreement_id"),
    ({"agent_id": 999999}, "agent_id"),
    ({"tariff_id": 999999}, "tariff_id"),
    ({"tariff_id": 1.0}, "tariff_id"),
    ({"ips": "10.0.0.1"}, "ips"),
    ({"ips": ["10.0.0.300"]}, "ips"),
    ({"ips": ["10.0.0.1/24"]}, "ips"),  # host bits set
    ({"ips": [167772161]}, "ips"),
    ({"mac": "not-a-mac"}, "mac"),
    ({"bandwidth_kbit": 1.5}, "bandwidth_kbit"),
    ({"bandwidth_kbit": -1}, "bandwidth_kbit"),
    ({"max_sessions": "2"}, "max_sessions"),
    ({"connect_date": "23.11.2026"}, "connect_date"),
    ({"connect_date": "2026-11-20", "disconnect_date": "2026-11-10"}, "disconnect_date"),
    ({"keep_remote_port": "yes"}, "keep_remote_port"),
    ({"options": []}, "options"),
    ({"password": 123}, "password"),
    ({"colour": "red"}, "colour"),
]


def test_bad_account_is_refused_and_nothing_is_written(api, parts):
    for over, field in BAD_ACCOUNTS:
        before = table_counts()
        response = api.post("/accounts", json=account_data(parts, **over))
        assert response.status_code == 422, (over, response.json)
        assert field in response.json["fields"], over
        assert table_counts() == before, over


@pytest.mark.parametrize("missing", ["agreement_id", "agent_id", "tariff_id", "login"])
def test_missing_account_field_is_refused(api, parts, missing):
    data = account_data(parts)
    del data[missing]
    before = table_counts()
    response = api.post("/accounts", json=data)
    assert response.status_code == 422 and missing in response.json["fields"]
    assert table_counts() == before


def test_duplicate_login_within_an_agent_is_409_and_writes_nothing(api, parts):
    assert api.post("/accounts", json=account_data(parts, ips=[])).status_code == 201
    before = table_counts()
    response = api.post("/accounts", json=account_data(parts, ips=[]))
    assert response.status_code == 409
    assert response.json["fields"]["login"] == "Already used within this agent."
    assert table_counts() == before
    # the same login under another agent is fine (unique within its agent)
    other = account_data(parts, ips=[], agent_id=make_agent().id)
    assert api.post("/accounts", json=other).status_code == 201


def test_ip_of_another_account_is_409(api, parts):
    assert api.post("/accounts", json=account_data(parts)).status_code == 201
    before = table_counts()
    response = api.post("/accounts", json=account_data(parts, login="other", ips=["10.20.0.5/32"]))
    assert response.status_code == 409 and "ips" in response.json["fields"]
    assert table_counts() == before


def test_patch_changes_fields_ips_and_tariff(api, parts):
    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    new_tariff = make_tariff()
    response = api.patch(f"/accounts/{account.id}", json={
        "login": "renamed", "ips": ["10.9.9.9"], "tariff_id": new_tariff.id, "description": "дом 5",
        "password": "new-password-1",
    })
    assert response.status_code == 200, response.json
    body = response.json
    assert body["login"] == "renamed" and body["ips"] == ["10.9.9.9/32"]
    assert body["tariff_id"] == new_tariff.id and body["description"] == "дом 5"
    assert Account.get_by_id(account.id).password == "new-password-1"
    assert TariffChange.select().where(TariffChange.account == account.id).count() == 2


def test_patch_with_bad_input_or_stale_version_writes_nothing(api, parts):
    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    before = table_counts()
    assert api.patch(f"/accounts/{account.id}", json={"login": "лат"}).status_code == 422
    assert api.patch(f"/accounts/{account.id}", json={"tariff_id": 999999}).status_code == 422
    assert api.patch(f"/accounts/{account.id}", json={"max_sessions": "x"}).status_code == 422
    assert api.patch(f"/accounts/{account.id}", json={"login": "fresh", "version": 99}).status_code == 409
    assert api.patch(f"/accounts/{account.id}", json=[1]).status_code == 400
    assert table_counts() == before
    assert api.patch("/accounts/999999", json={"login": "x"}).status_code == 404


def test_delete_marks_the_account_deleted_and_keeps_it(api, parts):
    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    response = api.delete(f"/accounts/{account.id}")
    assert response.status_code == 200 and response.json["deleted"] is True
    assert response.json["deleted_at"]
    assert api.get(f"/accounts/{account.id}").json["deleted"] is True
    assert Account.select().where(Account.id == account.id).exists()
    assert api.patch(f"/accounts/{account.id}", json={"description": "x"}).status_code == 409
    # the login is free again within the agent
    again = api.post("/accounts", json=account_data(parts, login=account.login, ips=[]))
    assert again.status_code == 201


def test_admin_block_with_reason_then_lift(api, parts):
    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    response = api.post(f"/accounts/{account.id}/blocks", json={"kind": "admin", "reason": "по заявлению"})
    assert response.status_code == 201
    assert response.json["state"] == "admin"
    [block] = response.json["blocks"]
    assert block["kind"] == "admin" and block["reason"] == "по заявлению" and block["actor"] == "api:admin"
    assert block["since"].endswith("Z")
    again = api.post(f"/accounts/{account.id}/blocks", json={"kind": "admin", "reason": "ещё"})
    assert again.status_code == 200  # already set: nothing new recorded
    assert AccountStateChange.select().where(AccountStateChange.account == account.id).count() == 1
    lifted = api.delete(f"/accounts/{account.id}/blocks/admin")
    assert lifted.status_code == 200 and lifted.json["state"] == "active" and lifted.json["blocks"] == []
    assert AccountStateChange.select().where(AccountStateChange.account == account.id).count() == 2


def test_user_block_shows_below_admin_block(api, parts):
    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    api.post(f"/accounts/{account.id}/blocks", json={"kind": "user"})
    body = api.post(f"/accounts/{account.id}/blocks", json={"kind": "admin", "reason": "долг"}).json
    assert body["state"] == "admin" and [b["kind"] for b in body["blocks"]] == ["admin", "user"]
    body = api.delete(f"/accounts/{account.id}/blocks/admin", json={"reason": "оплатил"}).json
    assert body["state"] == "user"
    last = AccountStateChange.select().order_by(AccountStateChange.id.desc()).first()
    assert last.reason == "оплатил"


BAD_BLOCKS = [
    ({"kind": "admin"}, 422),  # a staff block needs a reason
    ({"kind": "admin", "reason": ""}, 422),
    ({"kind": "balance", "reason": "x"}, 422),  # set by the system only
    ({"kind": "traffic", "reason": "x"}, 422),
    ({"kind": "holiday", "reason": "x"}, 422),
    ({"kind": 1, "reason": "x"}, 422),
    ({"reason": "x"}, 422),
]


def test_bad_block_is_refused_and_nothing_is_written(api, parts):
    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    for payload, status in BAD_BLOCKS:
        before = table_counts()
        response = api.post(f"/accounts/{account.id}/blocks", json=payload)
        assert response.status_code == status, (payload, response.json)
        assert table_counts() == before, payload


def test_balance_block_cannot_be_lifted_by_hand(api, parts):
    from lanbill.billing import payments
    from tests.factories import ACTOR

    account = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"])
    payments.set_balance_to(parts["agreement"], "-10", "K-1", actor=ACTOR)
    assert api.get(f"/accounts/{account.id}").json["state"] == "balance"
    before = table_counts()
    response = api.delete(f"/accounts/{account.id}/blocks/balance")
    assert response.status_code == 409
    assert table_counts() == before
    assert api.delete(f"/accounts/{account.id}/blocks/nonsense").status_code == 422


def test_blocks_of_unknown_account_are_404(api):
    assert api.post("/accounts/999999/blocks", json={"kind": "admin", "reason": "x"}).status_code == 404
    assert api.delete("/accounts/999999/blocks/admin").status_code == 404
    assert api.get("/accounts/999999").status_code == 404
    assert api.delete("/accounts/999999").status_code == 404


def test_list_accounts_by_agreement_and_login_without_deleted(api, parts):
    first = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"], login="alpha")
    second = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"], login="beta")
    make_account(login="gamma")
    listed = api.get(f"/accounts?agreement_id={parts['agreement'].id}").json
    assert [a["login"] for a in listed["items"]] == ["alpha", "beta"]
    assert [a["id"] for a in api.get("/accounts?login=beta").json["items"]] == [second.id]
    api.delete(f"/accounts/{first.id}")
    assert [a["login"] for a in api.get(f"/accounts?agreement_id={parts['agreement'].id}").json["items"]] == ["beta"]
    with_deleted = api.get(f"/accounts?agreement_id={parts['agreement'].id}&deleted=true").json
    assert with_deleted["total"] == 2
    assert api.get("/accounts?agent_id=-1").status_code == 400


def test_list_shows_the_same_ips_state_and_blocks_as_the_single_read(api, parts):
    first = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"], ips=["10.5.0.1"])
    second = make_account(parts["agreement"], agent=parts["agent"], tariff=parts["tariff"], ips=["10.5.0.2"])
    api.post(f"/accounts/{first.id}/blocks", json={"kind": "user"})
    api.post(f"/accounts/{first.id}/blocks", json={"kind": "admin", "reason": "проверка"})
    api.delete(f"/accounts/{first.id}/blocks/admin")
    api.post(f"/accounts/{first.id}/blocks", json={"kind": "admin", "reason": "снова"})
    listed = api.get(f"/accounts?agreement_id={parts['agreement'].id}").json["items"]
    assert listed == [api.get(f"/accounts/{first.id}").json, api.get(f"/accounts/{second.id}").json]
    assert [(b["kind"], b["reason"]) for b in listed[0]["blocks"]] == [("admin", "снова"), ("user", "")]
