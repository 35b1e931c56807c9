"""The import of rendered one-off services follows group scope: a manager
charges only accounts its groups cover, and an account outside them is
reported exactly like one that does not exist — by id, login or
agreement number, in the dry run and the real import."""

from __future__ import annotations

import re

from lanbill.billing import services
from lanbill.clock import today
from lanbill.models import LedgerEntry
from tests.admin_helpers import PASSWORD, make_group, make_manager
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, table_counts


def _hidden_account():
    theirs = make_group("Чужие")
    agreement = make_agreement(make_subscriber(name="Чужой", groups=[theirs]), number="THEIR-5")
    return make_account(agreement, login="theirlogin")


def _report(page: str) -> list[str]:
    """The rows of the import report as the page shows them."""
    found = re.search(r'<section class="card" id="import-report">.*?</section>', page, re.S)
    assert found, page[-2000:]
    return [re.sub(r"\s+", " ", row) for row in re.findall(r"<tr class=\"(?:ok|invalid)\">(.*?)</tr>",
                                                             found.group(0), re.S)]


def test_import_screen_treats_another_groups_account_like_a_missing_one(client, admin, login_as):
    hidden = _hidden_account()
    mine = make_group("Мои")
    make_manager("limited", groups=[mine])
    services.create_service({"name": "Кабель", "kind": "one_off", "price": "100"}, actor=ACTOR)
    day = today().isoformat()
    login_as("limited", PASSWORD)

    def dry_run(column, value):
        text = f"Счёт;Услуга;Дата\n{value};Кабель;{day}\n"
        return client.post("/admin/services/import", data={
            "csv_text": text, column: "Счёт", "service": "Услуга", "date": "Дата", "service_id": "0",
            "action": "dry_run"}).get_data(as_text=True)

    for column, seen, missing in (("login", "theirlogin", "nobodylogin"),
                                  ("account_id", str(hidden.id), "999999"),
                                  ("agreement", "THEIR-5", "NOBODY-5")):
        shown, absent = _report(dry_run(column, seen)), _report(dry_run(column, missing))
        assert [row.replace(seen, "X") for row in shown] == [row.replace(missing, "X") for row in absent], column
        assert len(shown) == 1 and "invalid" not in shown[0] and "Чужой" not in shown[0]

    before = table_counts()
    response = client.post("/admin/services/import", data={
        "csv_text": f"Логин;Услуга;Дата\ntheirlogin;Кабель;{day}\n", "login": "Логин", "service": "Услуга",
        "date": "Дата", "service_id": "0", "action": "import"})
    assert response.status_code in (200, 422)
    assert table_counts() == before
    assert not LedgerEntry.select().where(LedgerEntry.kind == "one_off").exists()
