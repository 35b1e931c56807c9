"""API: tokens (401), role permissions (403), subscriber groups a role may
see (404 outside them), passport visibility, the language of messages, and
JSON answers for unknown URLs."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from lanbill.models import ApiToken, Group, Role, RoleGroup
from lanbill.models.base import utcnow
from lanbill.staff import managers, tokens
from tests.conftest import ApiClient
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, table_counts


def api_for(client, permissions, *, groups=None, login="clerk"):
    """An API client whose manager's role has `permissions` and sees
    `groups` (None: every group)."""
    role = Role.create(name=f"role-{login}", permissions=list(permissions), all_groups=groups is None)
    for group in groups or ():
        RoleGroup.create(role=role, group=group)
    manager = managers.create_manager(login, role=role, actor=ACTOR, password="Secret-pass1")
    return ApiClient(client, tokens.create_token(manager, actor=ACTOR))


# --- 401 ---------------------------------------------------------------------


def test_missing_token_is_401_in_russian_by_default(client, admin):
    response = client.get("/api/v1/subscribers")
    assert response.status_code == 401
    assert response.json == {"error": "Не передан токен (Authorization: Bearer).", "fields": {}}


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic YWRtaW46", "lb_token"])
def test_invalid_token_is_401(client, admin, header):
    before = table_counts()
    response = client.post("/api/v1/payments", json={"agreement_id": 1, "amount": "1", "document_number": "x"},
                           headers={"Authorization": header, "Accept-Language": "en"})
    assert response.status_code == 401 and response.json["error"] in ("Invalid token.", "Missing bearer token.")
    assert table_counts() == before


def test_revoked_token_is_401_within_the_token_cache_time(api, app):
    assert app.config.get("API_TOKEN_CACHE_SECONDS", 5) == 5
    with time_machine.travel(dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert api.get("/tariffs").status_code == 200
        ApiToken.update(revoked_at=utcnow()).execute()
        traveller.shift(4)
        assert api.get("/tariffs").status_code == 200  # checked again at most every 5 s
        traveller.shift(2)
        assert api.get("/tariffs").status_code == 401


def test_without_the_token_cache_revocation_is_immediate(api, app):
    app.config["API_TOKEN_CACHE_SECONDS"] = 0
    assert api.get("/tariffs").status_code == 200
    ApiToken.update(revoked_at=utcnow()).execute()
    assert api.get("/tariffs").status_code == 401


def test_cli_prints_a_working_token(app, runner, client):
    result = runner.invoke(args=["token", "create", "--manager", "admin", "--name", "1C"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("lb_")
    response = client.get("/api/v1/tariffs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert ApiToken.get(ApiToken.name == "1C").token_hash != token  # only the hash is kept


def test_cli_refuses_an_unknown_manager(runner):
    result = runner.invoke(args=["token", "create", "--manager", "nobody"])
    assert result.exit_code != 0 and "nobody" in result.output


# --- 403 ---------------------------------------------------------------------


def test_role_without_permission_gets_403_and_nothing_is_written(app, client):
    agreement = make_agreement()
    viewer = api_for(client, ["subscribers.view"])
    before = table_counts()
    attempts = [
        ("post", "/subscribers", {"name": "X"}),
        ("patch", f"/subscribers/{agreement.subscriber_id}", {"phone": "1"}),
        ("post", "/agreements", {"subscriber_id": agreement.subscriber_id}),
        ("post", "/payments", {"agreement_id": agreement.id, "amount": "10", "document_number": "A"}),
        ("post", "/tariffs", {"name": "T"}),
        ("post", "/agents", {"name": "a", "type": "radius"}),
        ("post", "/nas", {"name": "n", "ip": "10.0.0.1", "secret": "s"}),
        ("get", "/nas", None),
    ]
    for method, url, payload in attempts:
        kwargs = {"json": payload} if payload is not None else {}
        response = getattr(viewer, method)(url, **kwargs)
        assert response.status_code == 403, (url, response.json)
        assert response.json["error"] == "Your role does not allow this."
    assert table_counts() == before
    assert viewer.get(f"/agreements/{agreement.id}").status_code == 200


def test_cancel_needs_its_own_permission(app, client):
    from lanbill.billing import payments

    agreement = make_agreement()
    payment, _ = payments.post_payment(agreement, "10", "A", actor=ACTOR)
    cashier = api_for(client, ["subscribers.view", "payments.create"])
    before = table_counts()
    assert cashier.post(f"/payments/{payment.id}/cancel", json={"reason": "x"}).status_code == 403
    assert table_counts() == before
    assert cashier.post("/payments", json={"agreement_id": agreement.id, "amount": "5",
                                           "document_number": "B"}).status_code == 201


def test_role_without_view_permission_cannot_read_subscribers(app, client):
    subscriber = make_subscriber()
    nobody = api_for(client, [])
    assert nobody.get("/subscribers").status_code == 403
    assert nobody.get(f"/subscribers/{subscriber.id}").status_code == 403
    assert nobody.get("/tariffs").status_code == 200  # the catalogue is open to every token


# --- groups a role may see -----------------------------------------------------


@pytest.fixture
def two_groups(app, client):
    north = Group.create(name="Север")
    south = Group.create(name="Юг")
    seen = make_subscriber(name="Видимый", groups=[north])
    hidden = make_subscriber(name="Скрытый", groups=[south])
    seen_account = make_account(make_agreement(seen))
    hidden_account = make_account(make_agreement(hidden))
    manager_api = api_for(client, ["subscribers.view", "subscribers.edit", "payments.create", "payments.cancel"],
                          groups=[north])
    return manager_api, seen_account, hidden_account


def test_subscriber_outside_the_roles_groups_is_404(two_groups):
    manager_api, seen, hidden = two_groups
    listed = manager_api.get("/subscribers").json
    assert [s["name"] for s in listed["items"]] == ["Видимый"] and listed["total"] == 1
    assert manager_api.get("/subscribers?q=Скрытый").json["total"] == 0
    assert manager_api.get(f"/subscribers/{seen.subscriber_id}").status_code == 200
    for url in (f"/subscribers/{hidden.subscriber_id}", f"/agreements/{hidden.agreement_id}",
                f"/agreements/{hidden.agreement_id}/ledger", f"/accounts/{hidden.id}"):
        response = manager_api.get(url)
        assert response.status_code == 404, url


def test_writes_to_hidden_subscribers_are_refused_as_unknown(two_groups):
    from lanbill.billing import payments

    manager_api, seen, hidden = two_groups
    hidden_payment, _ = payments.post_payment(hidden.agreement_id, "10", "A", actor=ACTOR)
    before = table_counts()
    assert manager_api.patch(f"/subscribers/{hidden.subscriber_id}", json={"phone": "1"}).status_code == 404
    assert manager_api.patch(f"/agreements/{hidden.agreement_id}", json={"credit_limit": "9"}).status_code == 404
    assert manager_api.patch(f"/accounts/{hidden.id}", json={"description": "x"}).status_code == 404
    assert manager_api.delete(f"/accounts/{hidden.id}").status_code == 404
    blocked = manager_api.post(f"/accounts/{hidden.id}/blocks", json={"kind": "admin", "reason": "x"})
    assert blocked.status_code == 404
    paid = manager_api.post("/payments", json={"agreement_id": hidden.agreement_id, "amount": "10",
                                                "document_number": "B"})
    assert paid.status_code == 422 and "agreement_id" in paid.json["fields"]
    agreement = manager_api.post("/agreements", json={"subscriber_id": hidden.subscriber_id})
    assert agreement.status_code == 422 and "subscriber_id" in agreement.json["fields"]
    outside = manager_api.post("/subscribers", json={"name": "В чужую группу",
                                                     "group_ids": [Group.get(Group.name == "Юг").id]})
    assert outside.status_code == 422 and "group_ids" in outside.json["fields"]
    account = manager_api.post("/accounts", json={"agreement_id": hidden.agreement_id, "agent_id": hidden.agent_id,
                                                  "tariff_id": hidden.tariff_id, "login": "sneaky"})
    assert account.status_code == 422 and "agreement_id" in account.json["fields"]
    assert manager_api.get(f"/payments/{hidden_payment.id}").status_code == 404
    assert manager_api.post(f"/payments/{hidden_payment.id}/cancel", json={"reason": "x"}).status_code == 404
    assert table_counts() == before


def test_passport_data_only_for_roles_allowed_to_see_it_and_each_read_is_audited(app, client):
    from lanbill.models import AuditLog

    subscriber = make_subscriber(passport_series="4510", passport_number="654321", inn="500100732259")
    clerk = api_for(client, ["subscribers.view", "subscribers.edit"], login="clerk")
    officer = api_for(client, ["subscribers.view", "personal_data.view"], login="officer")
    hidden = clerk.get(f"/subscribers/{subscriber.id}").json
    assert "passport_series" not in hidden and "passport_number" not in hidden and "birth_date" not in hidden
    assert hidden["inn"] == "500100732259"
    assert clerk.get(f"/subscribers/{subscriber.id}?passport=1").status_code == 403
    assert "passport_number" not in officer.get("/subscribers").json["items"][0]
    assert "passport_number" not in officer.get(f"/subscribers/{subscriber.id}").json
    reads = AuditLog.select().where(AuditLog.action == "personal_data.view")
    assert reads.count() == 0
    shown = officer.get(f"/subscribers/{subscriber.id}?passport=1").json
    assert shown["passport_series"] == "4510" and shown["passport_number"] == "654321"
    [read] = reads
    assert read.actor == "api:officer" and read.object_id == str(subscriber.id)


def test_role_without_personal_data_permission_cannot_write_passport(app, client):
    subscriber = make_subscriber()
    clerk = api_for(client, ["subscribers.view", "subscribers.edit"], login="clerk")
    before = table_counts()
    assert clerk.patch(f"/subscribers/{subscriber.id}", json={"passport_number": "1"}).status_code == 403
    assert clerk.post("/subscribers", json={"name": "Новый", "passport_series": "1"}).status_code == 403
    assert clerk.post("/subscribers?passport=1", json={"name": "Новый"}).status_code == 403
    assert table_counts() == before
    assert clerk.patch(f"/subscribers/{subscriber.id}", json={"phone": "+7 1"}).status_code == 200


# --- language ----------------------------------------------------------------


def test_messages_in_russian_by_default_and_english_on_request(api):
    agreement = make_agreement()
    bad = {"agreement_id": agreement.id, "amount": "1.005", "document_number": ""}
    russian = api.client.post("/api/v1/payments", json=bad, headers={"Authorization": f"Bearer {api.token}"})
    assert russian.status_code == 422
    assert russian.json["error"] == "Проверьте отмеченные поля."
    english = api.post("/payments", json=bad, language="en")
    assert english.json["error"] == "Check the highlighted fields."
    # billing's own messages, translated field by field
    russian_fields = api.post("/payments", json={**bad, "document_number": "A"}, language="ru").json["fields"]
    assert russian_fields["amount"] == "В сумме допускается не более двух знаков после запятой."
    assert api.post("/payments", json={**bad, "document_number": "A"}, language="en").json["fields"] == {
        "amount": "Amount may have at most two decimals."}
    preferred = api.get("/accounts/999999", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert preferred.json["error"] == "Account not found."
    fallback = api.get("/accounts/999999", headers={"Accept-Language": "de"})
    assert fallback.json["error"] == "Учетная запись не найдена."


def test_message_parameters_are_filled_in_both_languages(api):
    account = make_account()
    ru = api.post(f"/accounts/{account.id}/blocks", json={"kind": "turbo"}, language="ru").json
    en = api.post(f"/accounts/{account.id}/blocks", json={"kind": "turbo"}, language="en").json
    assert ru["error"] == "Неизвестный вид блокировки turbo."
    assert en["error"] == "Unknown block kind turbo."


# --- unknown URLs ------------------------------------------------------------


@pytest.mark.parametrize("url", ["/nothing", "/subscribers/abc", "/subscribers/1/2/3", "/", "/agreements/-1"])
def test_unknown_api_url_answers_json_404(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.is_json and response.json == {"error": "Not found.", "fields": {}}


def test_wrong_method_answers_json_405_with_allow(api):
    response = api.delete("/subscribers")
    assert response.status_code == 405 and response.is_json
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert api.patch("/payments", json={}).status_code == 405


def test_openapi_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json["openapi"].startswith("3.")


def test_lists_show_only_the_roles_groups(two_groups):
    from lanbill.billing import payments

    manager_api, seen, hidden = two_groups
    payments.post_payment(seen.agreement_id, "10", "A", actor=ACTOR)
    payments.post_payment(hidden.agreement_id, "10", "B", actor=ACTOR)
    for url in ("/agreements", "/accounts", "/payments"):
        items = manager_api.get(url).json["items"]
        assert len(items) == 1, url
        assert items[0].get("agreement_id", items[0]["id"]) == seen.agreement_id, url


@pytest.mark.parametrize("url", ["/accounts/99999999999999999999999", "/subscribers/2147483648",
                                 "/payments/99999999999999999999/cancel"])
def test_ids_beyond_any_column_are_404(api, url):
    response = api.get(url) if not url.endswith("cancel") else api.post(url, json={"reason": "x"})
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("query", ["page=99999999999999999999999", "agreement_id=99999999999999999999"])
def test_query_numbers_beyond_range_are_400(api, query):
    assert api.get(f"/accounts?{query}").status_code == 400


def test_numbers_beyond_range_in_the_body_are_422_and_write_nothing(api):
    before = table_counts()
    response = api.post("/tariffs", json={"name": "Big", "speed_in_kbit": 99999999999})
    assert response.status_code == 422 and "speed_in_kbit" in response.json["fields"]
    response = api.post("/payments", json={"agreement_id": 2**40, "amount": "1", "document_number": "A"})
    assert response.status_code == 422 and "agreement_id" in response.json["fields"]
    assert table_counts() == before


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_a_body_not_declared_json_is_415_and_writes_nothing(api, content_type):
    before = table_counts()
    response = api.post("/tariffs", data='{"name": "Curl"}', headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json["error"]
    assert table_counts() == before
