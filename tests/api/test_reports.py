"""GET /api/v1/reports/<name>: the same figures as the screen, money as
strings; the token's groups limit them; bad filters answer 422 naming the
field; the permission is needed; the OpenAPI document describes it."""

from __future__ import annotations

import pytest

from lanbill.models.staff import PERMISSIONS
from lanbill.reports import REPORTS
from lanbill.staff.tokens import create_token
from tests.admin_helpers import make_manager
from tests.conftest import ApiClient
from tests.reports.scenario import Scenario, at


@pytest.fixture
def data(app, admin):
    scenario = Scenario()
    with at("2026-03-05 12:00:00"):
        yield scenario


def test_charges_vs_payments_as_json_with_money_strings(api, data):
    body = api.get("/reports/charges-vs-payments?from=2026-01&to=2026-03").json
    assert body["report"] == "charges-vs-payments"
    assert [r["month"] for r in body["rows"]] == ["2026-01", "2026-02", "2026-03"]
    assert body["rows"][1]["traffic"] == "12.34" and body["rows"][1]["corrections"] == "-50.00"
    assert body["totals"]["closing"] == "-3112.34" and body["totals"]["payments"] == "1750.00"
    assert body["filters"]["from"] == "2026-01-01"


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_answers(api, data, name):
    response = api.get(f"/reports/{name}")
    assert response.status_code == 200, response.json
    assert {"report", "filters", "columns", "rows", "totals"} <= set(response.json)


def test_debtors_same_numbers_as_screen_and_scoped_by_group(app, client, api, data):
    everyone = api.get("/reports/debtors").json
    assert everyone["totals"]["debt"] == "3112.34" and len(everyone["rows"]) == 3
    north = make_manager("north", groups=[data.north])
    scoped = ApiClient(client, create_token(north, name="north")).get("/reports/debtors").json
    assert {r["agreement"] for r in scoped["rows"]} == {data.agreements[0].number, data.agreements[2].number}
    assert scoped["totals"]["debt"] == "2262.34"
    by_group = ApiClient(client, create_token(north, name="n2")).get(
        "/reports/payments?from=2026-01-01&to=2026-02-28&by=group").json
    assert [r["name"] for r in by_group["rows"]] == ["Север"] and by_group["totals"]["amount"] == "1750.00"


def test_bad_filter_and_unknown_report_and_permission(app, client, api, data):
    response = api.get("/reports/arpu?from=2026-1&to=2026-03")
    assert response.status_code == 422 and "from" in response.json["fields"]
    response = api.get("/reports/arpu?from=2026-01&to=2026-03", language="ru")
    assert response.status_code == 200
    response = api.get("/reports/debtors?days=abc", language="ru")
    assert response.status_code == 422
    assert response.json["fields"]["days"] == "Укажите целое число в допустимых пределах."
    assert api.get("/reports/nothing").status_code == 404
    clerk = make_manager("clerk", permissions=[p for p in PERMISSIONS if p != "reports.view"])
    assert ApiClient(client, create_token(clerk, name="c")).get("/reports/debtors").status_code == 403


def test_openapi_documents_the_reports(client):
    document = client.get("/api/v1/openapi.json").json
    item = document["paths"]["/reports/{name}"]
    assert item["parameters"][0]["schema"]["enum"] == list(REPORTS)
    assert "Report" in document["components"]["schemas"]
