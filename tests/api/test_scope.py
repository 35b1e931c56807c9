"""Group scope in the API: `POST /api/v1/services/import` charges only
accounts the token's role may see, and reports any other exactly like an
account that does not exist."""

from __future__ import annotations

from lanbill.billing import services
from lanbill.models import LedgerEntry
from lanbill.staff.tokens import create_token
from tests.admin_helpers import make_group, make_manager
from tests.conftest import ApiClient
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, table_counts


def test_service_import_treats_another_groups_account_like_a_missing_one(app, client):
    theirs, mine = make_group("Чужие"), make_group("Мои")
    hidden = make_account(make_agreement(make_subscriber(groups=[theirs]), number="THEIR-9"), login="theirlogin")
    services.create_service({"name": "Cable", "kind": "one_off", "price": "100.00"}, actor=ACTOR)
    api = ApiClient(client, create_token(make_manager("limited", groups=[mine]), name="limited"))

    def run(column, value, dry_run=True):
        return api.post("/services/import", json={"csv": f"who;what;when\n{value};Cable;2020-01-01\n",
                                                  "mapping": {column: "who", "service": "what", "date": "when"},
                                                  "dry_run": dry_run})

    for column, seen, missing in (("login", "theirlogin", "nobodylogin"),
                                  ("account_id", str(hidden.id), "999999"),
                                  ("agreement", "THEIR-9", "NOBODY-9")):
        shown, absent = run(column, seen), run(column, missing)
        assert shown.status_code == absent.status_code == 200
        assert shown.json["good"] == 0
        assert [e["message"].replace(seen, "X") for e in shown.json["errors"]] == \
               [e["message"].replace(missing, "X") for e in absent.json["errors"]]

    before = table_counts()
    real = run("login", "theirlogin", dry_run=False)
    assert real.status_code == 422 and real.json["created"] == []
    assert table_counts() == before
    assert not LedgerEntry.select().where(LedgerEntry.kind == "one_off").exists()
