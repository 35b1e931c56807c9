"""API: subscribers — create both classes, read, list with paging and
search, update; class fields and passport visibility; bad input."""

from __future__ import annotations

import pytest

from lanbill.models import Group, Subscriber
from tests.factories import make_account, make_agreement, make_subscriber, table_counts


def test_create_individual_with_passport(api):
    response = api.post("/subscribers?passport=1", json={
        "kind": "individual", "name": "Сидоров Пётр Ильич", "email": "sidorov@example.ru",
        "phone": "+7 900 123-45-67", "passport_series": "4510", "passport_number": "123456",
        "birth_date": "1980-05-01", "inn": "500100732259",
    })
    assert response.status_code == 201, response.json
    body = response.json
    assert body["kind"] == "individual" and body["category"] == "subscriber"
    assert body["passport_series"] == "4510" and body["birth_date"] == "1980-05-01"
    assert "kpp" not in body and "director" not in body  # the other class's fields
    assert body["group_ids"] == [Group.get(Group.is_system == True).id]  # noqa: E712
    assert body["created_at"].endswith("Z")
    assert api.get(f"/subscribers/{body['id']}?passport=1").json == body
    plain = api.get(f"/subscribers/{body['id']}").json
    assert "passport_series" not in plain and "birth_date" not in plain and plain["inn"] == "500100732259"


def test_create_legal_entity_with_its_fields(api):
    response = api.post("/subscribers", json={
        "kind": "legal", "name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001",
        "ogrn": "1027700132195", "director": "Петров П. П.", "bik": "044525225",
        "settlement_account": "40702810938000000001", "corr_account": "30101810400000000225",
    })
    assert response.status_code == 201, response.json
    body = response.json
    assert body["kind"] == "legal" and body["kpp"] == "773601001" and body["director"] == "Петров П. П."
    assert "passport_series" not in body


def test_kind_defaults_to_individual(api):
    assert api.post("/subscribers", json={"name": "Без класса"}).json["kind"] == "individual"


BAD_SUBSCRIBERS = [
    ({}, "name"),  # missing field
    ({"name": "   "}, "name"),
    ({"name": 42}, "name"),  # wrong type
    ({"name": "X", "kind": "company"}, "kind"),
    ({"name": "X", "kind": 1}, "kind"),
    ({"name": "X", "category": "vip"}, "category"),
    ({"name": "X", "email": "not-an-email"}, "email"),
    ({"name": "X", "email": ["a@b.ru"]}, "email"),
    ({"name": "X", "inn": "12ab"}, "inn"),
    ({"name": "X", "kpp": "773601001"}, "kpp"),  # a legal field on an individual
    ({"name": "X", "kind": "legal", "passport_number": "1"}, "passport_number"),
    ({"name": "X", "cabinet_ip_only": "yes"}, "cabinet_ip_only"),
    ({"name": "X", "main_address_id": 999999}, "main_address_id"),
    ({"name": "X", "group_ids": [999999]}, "group_ids"),
    ({"name": "X", "group_ids": "1"}, "group_ids"),
    ({"name": "X" * 300}, "name"),
    ({"name": "X", "balance": "100"}, "balance"),
]


def test_bad_subscriber_is_refused_and_nothing_is_written(api):
    for payload, field in BAD_SUBSCRIBERS:
        before = table_counts()
        response = api.post("/subscribers", json=payload)
        assert response.status_code == 422, (payload, response.json)
        assert field in response.json["fields"], payload
        assert table_counts() == before, payload


def test_taken_cabinet_login_is_409(api):
    make_subscriber(login="cab1")
    before = table_counts()
    response = api.post("/subscribers", json={"name": "Второй", "login": "cab1"})
    assert response.status_code == 409 and "login" in response.json["fields"]
    assert table_counts() == before


def test_patch_updates_fields_but_not_the_class(api):
    subscriber = make_subscriber()
    response = api.patch(f"/subscribers/{subscriber.id}", json={"phone": "+7 911 000-00-00", "email": "new@x.ru"})
    assert response.status_code == 200
    assert response.json["phone"] == "+7 911 000-00-00" and response.json["version"] == 2
    before = table_counts()
    refused = api.patch(f"/subscribers/{subscriber.id}", json={"kind": "legal"})
    assert refused.status_code == 422 and "kind" in refused.json["fields"]
    stale = api.patch(f"/subscribers/{subscriber.id}", json={"phone": "1", "version": 1})
    assert stale.status_code == 409
    assert api.patch(f"/subscribers/{subscriber.id}", json={"name": None}).status_code == 422
    assert api.patch(f"/subscribers/{subscriber.id}", json={"group_ids": [1]}).status_code == 422
    assert table_counts() == before
    assert Subscriber.get_by_id(subscriber.id).phone == "+7 911 000-00-00"


def test_unknown_subscriber_is_404(api):
    assert api.get("/subscribers/999999").status_code == 404
    assert api.patch("/subscribers/999999", json={"phone": "1"}).status_code == 404


def test_list_pages_and_searches(api):
    for n in range(5):
        make_subscriber(name=f"Кузнецов {n}", email=f"k{n}@example.ru")
    make_subscriber(name="Смирнова Анна", email="anna@example.ru")
    make_subscriber(name="Шаблон", is_template=True)
    page = api.get("/subscribers?per_page=2&page=2").json
    assert page["total"] == 6 and page["page"] == 2 and page["per_page"] == 2
    assert len(page["items"]) == 2
    ids = [item["id"] for p in (1, 2, 3) for item in api.get(f"/subscribers?per_page=2&page={p}").json["items"]]
    assert len(set(ids)) == 6
    found = api.get("/subscribers", query_string={"q": "Смирнова"}).json
    assert [s["name"] for s in found["items"]] == ["Смирнова Анна"]
    assert api.get("/subscribers?q=anna@").json["total"] == 1
    # case-insensitive over Cyrillic on SQLite too
    assert api.get("/subscribers", query_string={"q": "смирнова"}).json["total"] == 1


def test_search_finds_by_agreement_number_account_login_and_ip(api):
    account = make_account(make_agreement(number="Д-555"), login="petrov-home", ips=["10.77.0.9"])
    for q in ("Д-555", "petrov-home", "10.77.0.9"):
        found = api.get("/subscribers", query_string={"q": q}).json
        assert [s["id"] for s in found["items"]] == [account.subscriber_id], q


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=0", "per_page=501", "per_page=-3"])
def test_bad_paging_is_400(api, query):
    response = api.get(f"/subscribers?{query}")
    assert response.status_code == 400 and response.json["fields"]
