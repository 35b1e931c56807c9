"""API: tariffs (DESIGN §6 fields), agents and NAS; bad input writes nothing;
the NAS secret is never returned."""

from __future__ import annotations

from lanbill.models import Nas, Tariff
from tests.factories import make_agent, make_nas, make_tariff, table_counts

TARIFF = {
    "name": "Домашний 100", "scheme": "dynamic", "rent": "650.00", "rent_blocked": "0",
    "rent_admin_blocked": None, "rent_user_blocked": "100.50", "prepaid_mb": 10240,
    "traffic_limit_mb": 0, "speed_in_kbit": 100000, "speed_out_kbit": 50000, "currency": "RUB",
}


def test_create_and_read_tariff_with_default_rents(api):
    response = api.post("/tariffs", json=TARIFF)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["rent"] == "650.00" and body["rent_blocked"] == "0.00"
    # Ra null → as Rb; Ru given
    assert body["rent_admin_blocked"] is None and body["effective_rent_admin_blocked"] == "0.00"
    assert body["rent_user_blocked"] == "100.50" and body["effective_rent_user_blocked"] == "100.50"
    assert body["scheme"] == "dynamic" and body["prepaid_mb"] == 10240 and body["speed_in_kbit"] == 100000
    assert api.get(f"/tariffs/{body['id']}").json == body
    assert body["id"] in [t["id"] for t in api.get("/tariffs").json["items"]]


BAD_TARIFFS = [
    ({"name": ""}, "name"),
    ({"name": 5}, "name"),
    ({"scheme": "weekly"}, "scheme"),
    ({"rent": "-1"}, "rent"),
    ({"rent": "650.001"}, "rent"),
    ({"rent": 650.5}, "rent"),
    ({"rent_blocked": None}, "rent_blocked"),
    ({"prepaid_mb": -1}, "prepaid_mb"),
    ({"prepaid_mb": 1.5}, "prepaid_mb"),
    ({"speed_in_kbit": "fast"}, "speed_in_kbit"),
    ({"currency": "ZZZ"}, "currency"),
    ({"description": 7}, "description"),
    ({"rent_per_day": "1"}, "rent_per_day"),
]


def test_bad_tariff_is_refused_and_nothing_is_written(api):
    for over, field in BAD_TARIFFS:
        before = table_counts()
        response = api.post("/tariffs", json={**TARIFF, **over})
        assert response.status_code == 422, (over, response.json)
        assert field in response.json["fields"], over
        assert table_counts() == before, over


def test_patch_tariff_and_archive_it(api):
    tariff = make_tariff()
    response = api.patch(f"/tariffs/{tariff.id}", json={"rent": "700", "rent_admin_blocked": "10.00"})
    assert response.status_code == 200
    assert response.json["rent"] == "700.00" and response.json["effective_rent_admin_blocked"] == "10.00"
    back = api.patch(f"/tariffs/{tariff.id}", json={"rent_admin_blocked": None}).json
    assert back["rent_admin_blocked"] is None
    archived = api.patch(f"/tariffs/{tariff.id}", json={"archived": True}).json
    assert archived["archived"] is True
    assert tariff.id not in [t["id"] for t in api.get("/tariffs").json["items"]]
    assert tariff.id in [t["id"] for t in api.get("/tariffs?archived=true").json["items"]]
    before = table_counts()
    assert api.patch(f"/tariffs/{tariff.id}", json={"rent": 1.25}).status_code == 422
    assert api.patch(f"/tariffs/{tariff.id}", json={"rent": "1", "version": 1}).status_code == 409
    assert table_counts() == before
    assert Tariff.get_by_id(tariff.id).rent == 700
    assert api.get("/tariffs/999999").status_code == 404


def test_create_agent_and_list(api):
    response = api.post("/agents", json={"name": "RADIUS main", "type": "radius",
                                         "options": {"auth_port": 1812, "blocked_policy": "reject"}})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["type"] == "radius" and body["options"]["auth_port"] == 1812 and body["enabled"] is True
    assert api.get(f"/agents/{body['id']}").json == body
    assert [a["name"] for a in api.get("/agents").json["items"]] == ["RADIUS main"]
    patched = api.patch(f"/agents/{body['id']}", json={"enabled": False, "options": {}}).json
    assert patched["enabled"] is False and patched["options"] == {}


BAD_AGENTS = [
    ({"type": "radius"}, 422, "name"),
    ({"name": "a", "type": "telephony"}, 422, "type"),
    ({"name": "a", "type": "radius", "options": [1]}, 422, "options"),
    ({"name": "a", "type": "radius", "options": "x"}, 422, "options"),
    ({"name": "taken", "type": "netflow"}, 409, "name"),
]


def test_bad_agent_is_refused_and_nothing_is_written(api):
    make_agent(name="taken")
    for payload, status, field in BAD_AGENTS:
        before = table_counts()
        response = api.post("/agents", json=payload)
        assert response.status_code == status, (payload, response.json)
        assert field in response.json["fields"], payload
        assert table_counts() == before, payload


def test_create_nas_never_returns_the_secret(api):
    agent = make_agent()
    response = api.post("/nas", json={"name": "MikroTik-1", "ip": "192.0.2.10", "secret": "very-secret",
                                      "vendor": "mikrotik", "agent_id": agent.id})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["coa_port"] == 3799 and body["vendor"] == "mikrotik" and body["agent_id"] == agent.id
    assert "very-secret" not in response.get_data(as_text=True)
    for url in (f"/nas/{body['id']}", "/nas"):
        assert "very-secret" not in api.get(url).get_data(as_text=True)
    assert Nas.get_by_id(body["id"]).secret == "very-secret"
    patched = api.patch(f"/nas/{body['id']}", json={"coa_port": 1700, "secret": "other-secret"})
    assert patched.status_code == 200 and patched.json["coa_port"] == 1700
    assert "secret" not in patched.json and Nas.get_by_id(body["id"]).secret == "other-secret"


BAD_NAS = [
    ({"ip": "300.1.1.1"}, 422, "ip"),
    ({"ip": 3221225994}, 422, "ip"),
    ({"secret": ""}, 422, "secret"),
    ({"vendor": "juniper"}, 422, "vendor"),
    ({"coa_port": 70000}, 422, "coa_port"),
    ({"coa_port": "3799"}, 422, "coa_port"),
    ({"agent_id": 999999}, 422, "agent_id"),
    ({"agent_id": "1"}, 422, "agent_id"),
    ({"ip": "192.0.2.99"}, 409, "ip"),
]


def test_bad_nas_is_refused_and_nothing_is_written(api):
    make_nas(ip="192.0.2.99")
    for over, status, field in BAD_NAS:
        before = table_counts()
        response = api.post("/nas", json={"name": "n", "ip": "192.0.2.1", "secret": "s", **over})
        assert response.status_code == status, (over, response.json)
        assert field in response.json["fields"], over
        assert table_counts() == before, over


BAD_AGENT_OPTIONS = [
    ({"auth_port": "1812"}, "options.auth_port"),
    ({"workers": 0}, "options.workers"),
    ({"blocked_policy": "drop"}, "options.blocked_policy"),
    ({"redirect_rate": "fast"}, "options.redirect_rate"),
    ({"colour": "blue"}, "options.colour"),
]


def test_agent_options_of_the_wrong_kind_are_refused_and_nothing_changes(api):
    """The options go through the same check as the admin form's
    (lanbill/network/agent_options.py): 422 with the option's field."""
    agent = make_agent(options={"auth_port": 11812})
    for options, field in BAD_AGENT_OPTIONS:
        before = table_counts()
        response = api.post("/agents", json={"name": "bad", "type": "radius", "options": options})
        assert response.status_code == 422 and field in response.json["fields"], (options, response.json)
        response = api.patch(f"/agents/{agent.id}", json={"options": options})
        assert response.status_code == 422 and field in response.json["fields"], (options, response.json)
        assert table_counts() == before
    body = api.get(f"/agents/{agent.id}").json
    assert body["options"] == {"auth_port": 11812}
