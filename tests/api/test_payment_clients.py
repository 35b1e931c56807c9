"""API payments: an external id belongs to the client that sent it (the
token's owner).  Two clients may use the same id and each books its own
payment; the same client repeating an id gets its first payment back and
books nothing; no answer shows another client's payment or agreement."""

from __future__ import annotations

from decimal import Decimal

from lanbill.models import Agreement, LedgerEntry, Payment
from lanbill.staff import tokens
from tests.admin_helpers import make_group, make_manager
from tests.conftest import ApiClient
from tests.factories import ACTOR, make_agreement, make_subscriber, table_counts


def client_for(client, login, *, groups=None) -> ApiClient:
    manager = make_manager(login, permissions=["subscribers.view", "payments.create"], groups=groups)
    return ApiClient(client, tokens.create_token(manager, actor=ACTOR))


def pay(api, agreement, **over):
    data = {"agreement_id": agreement.id, "amount": "100.00", "document_number": "ПП-1", "external_id": "tx-1"}
    data.update(over)
    return api.post("/payments", json=data)


def test_two_clients_may_use_the_same_external_id(app, client):
    first_client, second_client = client_for(client, "bank"), client_for(client, "kiosk")
    agreement = make_agreement()
    first = pay(first_client, agreement)
    second = pay(second_client, agreement, amount="50.00")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json["id"] != second.json["id"]
    assert Agreement.get_by_id(agreement.id).balance == Decimal("150.00")
    assert LedgerEntry.select().where(LedgerEntry.kind == "payment").count() == 2


def test_the_same_client_repeating_an_id_gets_its_first_payment_and_books_nothing(app, client):
    api = client_for(client, "bank")
    agreement = make_agreement()
    first = pay(api, agreement)
    before = table_counts()
    again = pay(api, agreement)
    assert again.status_code == 200 and again.json == first.json
    assert table_counts() == before
    conflict = pay(api, agreement, amount="1.00")
    assert conflict.status_code == 409 and "external_id" in conflict.json["fields"]
    assert table_counts() == before


def test_another_groups_payment_is_never_shown_to_a_client_reusing_its_id(app, client):
    north, south = make_group("Север"), make_group("Юг")
    north_agreement = make_agreement(make_subscriber(groups=[north.id]))
    south_agreement = make_agreement(make_subscriber(groups=[south.id]))
    north_client = client_for(client, "north", groups=[north])
    south_client = client_for(client, "south", groups=[south])
    booked = pay(north_client, north_agreement, external_id="shared")
    assert booked.status_code == 201

    # The same id and amount from another group's client: its own payment,
    # on its own agreement; nothing of the first one in the answer.
    own = pay(south_client, south_agreement, external_id="shared")
    assert own.status_code == 201
    assert own.json["agreement_id"] == south_agreement.id and own.json["id"] != booked.json["id"]
    text = own.get_data(as_text=True)
    assert str(north_agreement.number) not in text

    # Naming the other group's agreement is refused as unknown, whatever the id.
    refused = pay(south_client, north_agreement, external_id="shared")
    assert refused.status_code == 422 and "agreement_id" in refused.json["fields"]
    assert str(booked.json["id"]) not in refused.get_data(as_text=True)

    # Looking the id up lists the asking client's payment only.
    listed = south_client.get("/payments?external_id=shared").json
    assert [p["id"] for p in listed["items"]] == [own.json["id"]]
    assert Payment.select().where(Payment.external_id == "shared").count() == 2


def test_payments_without_an_external_id_are_never_matched(app, client):
    api = client_for(client, "bank")
    agreement = make_agreement()
    assert pay(api, agreement, external_id=None).status_code == 201
    assert pay(api, agreement, external_id=None).status_code == 201
    assert Payment.select().count() == 2
