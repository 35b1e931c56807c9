"""Traffic statistics (lanbill.network.traffic_stats), its API and admin
page: grouping by day, hour, category, address and port, in local time,
with the cost volume charging makes of the traffic; retention."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from lanbill.clock import midnight_utc
from lanbill.models import Setting, TrafficDetail, TrafficHourly
from lanbill.network import traffic_categories, traffic_stats
from tests.factories import ACTOR, make_account, make_agent, make_tariff

MB = 1_048_576


def setup_traffic(prepaid_mb=0):
    with time_machine.travel(dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC), tick=False):
        tariff = make_tariff(rent="0", prepaid_mb=prepaid_mb)
        account = make_account(tariff=tariff, agent=make_agent(type="netflow"), ips=["10.0.0.5/32"],
                               connect_date="2025-12-01", keep_remote_address=True, keep_remote_port=True)
    local = traffic_categories.create_category(tariff.id, {"name": "Peering", "networks": "192.168.0.0/16",
                                                         "price_in_mb": "0"}, actor=ACTOR)
    internet = traffic_categories.create_category(tariff.id, {"name": "Internet", "price_in_mb": "1.00",
                                                            "price_out_mb": "0.50", "prepaid": True}, actor=ACTOR)
    # Moscow is UTC+3: 22:00 UTC on the 4th is 01:00 local on the 5th
    for day, hour, category, bytes_in, bytes_out in [
        (dt.date(2026, 1, 5), 1, internet, 2 * MB, MB), (dt.date(2026, 1, 5), 2, local, 5 * MB, 0),
        (dt.date(2026, 1, 6), 23, internet, MB, 0),
    ]:
        TrafficHourly.create(account_id=account.id, category_id=category.id,
                             hour=midnight_utc(day) + dt.timedelta(hours=hour), bytes_in=bytes_in,
                             bytes_out=bytes_out)
    at = midnight_utc(dt.date(2026, 1, 5)) + dt.timedelta(hours=1)
    for remote, port, size in [("1.1.1.1", 443, MB), ("1.1.1.1", 80, MB), ("8.8.8.8", 53, 10)]:
        TrafficDetail.create(account_id=account.id, category_id=internet.id, hour=at, remote=remote, port=port,
                             bytes_in=size, bytes_out=0)
    return account, local, internet


def test_grouped_by_local_day_with_cost(app):
    account, _, _ = setup_traffic()
    rows = traffic_stats.account_traffic(account, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "day")
    assert [(r.period, r.bytes_in, r.bytes_out, r.cost) for r in rows] == [
        ("2026-01-05", 7 * MB, MB, Decimal("2.50")),
        ("2026-01-06", MB, 0, Decimal("1.00")),
    ]
    assert traffic_stats.totals(rows).cost == Decimal("3.50")


def test_grouped_by_hour_and_by_category(app):
    account, local, internet = setup_traffic()
    hours = traffic_stats.account_traffic(account, dt.date(2026, 1, 5), dt.date(2026, 1, 6), "hour")
    assert [r.period for r in hours] == ["2026-01-05 01:00", "2026-01-05 02:00", "2026-01-06 23:00"]
    categories = traffic_stats.account_traffic(account, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "category")
    assert {(r.category, r.bytes_in, r.cost) for r in categories} == {
        ("Peering", 5 * MB, Decimal("0.00")), ("Internet", 3 * MB, Decimal("3.50"))}


def test_cost_uses_the_prepaid_volume_first(app):
    account, _, _ = setup_traffic(prepaid_mb=2)
    rows = traffic_stats.account_traffic(account, dt.date(2026, 1, 6), dt.date(2026, 1, 6), "day")
    # the 5th used 3 MB of Internet (2 in + 1 out): prepaid gone, the 6th pays 1 MB in at 1.00
    assert [(r.period, r.cost) for r in rows] == [("2026-01-06", Decimal("1.00"))]


def test_grouped_by_address_then_drilled_down_to_port(app):
    account, _, _ = setup_traffic()
    rows = traffic_stats.account_traffic(account, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "address")
    assert [(r.remote, r.bytes_in) for r in rows] == [("1.1.1.1", 2 * MB), ("8.8.8.8", 10)]
    ports = traffic_stats.account_traffic(account, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "port", "1.1.1.1")
    assert sorted((r.port, r.bytes_in) for r in ports) == [(80, MB), (443, MB)]


def test_retention_deletes_old_rows_by_settings(app):
    account, _, _ = setup_traffic()
    Setting.create(key="traffic.detail_days", value="30")
    hourly, detail = traffic_stats.purge_old_traffic(dt.date(2026, 3, 1))
    assert (hourly, detail) == (0, 3)
    assert TrafficHourly.select().count() == 3


def test_api_account_traffic(app, api):
    account, _, _ = setup_traffic()
    response = api.get(f"/accounts/{account.id}/traffic?from=2026-01-01&to=2026-01-31&group=day")
    assert response.status_code == 200, response.json
    assert response.json["items"][0] == {
        "period": "2026-01-05", "category": None, "category_id": None, "remote": None, "port": None,
        "bytes_in": 7 * MB, "bytes_out": MB, "bytes_total": 8 * MB, "cost": "2.50"}
    assert response.json["total"]["cost"] == "3.50"
    assert api.get(f"/accounts/{account.id}/traffic?group=week").status_code == 400
    assert api.get(f"/accounts/{account.id}/traffic?from=2026-02-01&to=2026-01-01").status_code == 422
    assert api.get("/accounts/99999/traffic").status_code == 404


def test_api_categories_create_and_list(app, api):
    tariff = make_tariff()
    response = api.post(f"/tariffs/{tariff.id}/categories", json={
        "name": "Peering", "networks": ["192.168.0.0/16", "10.10.0.0/16"], "price_in_mb": "0.10",
        "price_out_mb": "0", "prepaid": False})
    assert response.status_code == 201, response.json
    assert response.json["networks"] == ["192.168.0.0/16", "10.10.0.0/16"]
    assert response.json["price_in_mb"] == "0.10"
    bad = api.post(f"/tariffs/{tariff.id}/categories", json={"name": "X", "networks": ["not-a-net"]})
    assert bad.status_code == 422 and "networks" in bad.json["fields"]
    listed = api.get(f"/tariffs/{tariff.id}/categories")
    assert [c["name"] for c in listed.json["items"]] == ["Peering"]


def test_admin_traffic_page_chart_drill_down_and_csv(app, client, admin, login_as):
    account, _, _ = setup_traffic()
    login_as()
    url = f"/admin/accounts/{account.id}/traffic?from=2026-01-01&to=2026-01-31"
    page = client.get(url + "&group=day")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and html.count('class="in"') == 31  # one bar per day
    assert "2026-01-05" in html and "7,00" in html
    ports = client.get(url + "&group=port&remote=1.1.1.1").get_data(as_text=True)
    assert "443" in ports and "80" in ports
    addresses = client.get(url + "&group=address").get_data(as_text=True)
    assert "group=port" in addresses and "8.8.8.8" in addresses
    csv_response = client.get(url + "&group=category&format=csv")
    assert csv_response.mimetype == "text/csv"
    lines = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(lines) == 3 and lines[1].split(";")[1] in ("Peering", "Internet")
    assert "3,50" in csv_response.get_data(as_text=True)


def test_admin_netflow_status_page(app, client, admin, login_as):
    from lanbill.models.traffic import NetflowStatus

    agent = make_agent(type="netflow")
    NetflowStatus.create(agent_id=agent.id, exporter="192.0.2.7", packets=10, records=300, malformed=2,
                         lost_flows=5, unmatched_bytes=MB)
    login_as()
    html = client.get("/admin/netflow").get_data(as_text=True)
    assert "192.0.2.7" in html and agent.name in html
    assert '<td class="num malformed">2</td>' in html and '<td class="num lost">5</td>' in html
