"""A staff block and unblock are audited: who, from which address, why —
from the admin screen and through the API alike; the billing run's own
balance blocks stay in the account's history only."""

from __future__ import annotations

from lanbill.actor import job
from lanbill.billing import blocks
from lanbill.models import Account, AuditLog, Manager
from tests.admin_helpers import ru
from tests.factories import make_account


def _rows(account) -> list[AuditLog]:
    return list(AuditLog.select().where((AuditLog.object_type == "account") & (AuditLog.object_id == str(account.id))
                                        & AuditLog.action.in_(["account.block", "account.unblock"]))
                .order_by(AuditLog.id))


def test_block_and_unblock_on_the_account_page_are_audited_with_address_and_reason(client, admin, login_as):
    account = make_account()
    login_as()
    environ = {"REMOTE_ADDR": "192.0.2.44"}
    client.post(f"/admin/accounts/{account.id}/block", data={"b-reason": "Жалоба на спам"}, environ_base=environ)
    client.post(f"/admin/accounts/{account.id}/unblock", data={"b-reason": "Разобрались"}, environ_base=environ)
    block, unblock = _rows(account)
    assert (block.action, block.actor, block.manager_id, block.ip) == ("account.block", "manager:admin", admin.id,
                                                                       "192.0.2.44")
    assert block.after["reason"] == "Жалоба на спам" and block.after["block"] == "admin"
    assert block.after["state"] == "admin" and block.before["state"] == "active"
    assert (unblock.action, unblock.ip, unblock.after["reason"]) == ("account.unblock", "192.0.2.44", "Разобрались")
    page = client.get(f"/admin/audit?object_type=account&object_id={account.id}").get_data(as_text=True)
    assert ru("Block set") in page and ru("Block lifted") in page and "Жалоба на спам" in page
    assert "account.block" not in page
    # the account's own history says it in words, with the manager's name
    Manager.update(name="Петров П.").where(Manager.id == admin.id).execute()
    history = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    history = history[history.index('id="state-history"'):]
    assert ru("Administrative block set") in history and ru("Administrative block lifted") in history
    assert "Петров П." in history and "manager:admin" not in history


def test_api_block_and_lift_are_audited(client, api, admin):
    account = make_account()
    assert api.post(f"/accounts/{account.id}/blocks", json={"kind": "admin", "reason": "Долг по акту"},
                    environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code in (200, 201)
    assert api.delete(f"/accounts/{account.id}/blocks/admin",
                      environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code in (200, 204)
    block, unblock = _rows(account)
    assert block.manager_id == admin.id and block.ip == "198.51.100.7" and block.after["reason"] == "Долг по акту"
    assert unblock.action == "account.unblock" and unblock.ip == "198.51.100.7"


def test_the_billing_runs_balance_block_is_not_an_audit_row(app):
    account = make_account()
    blocks.set_flag(Account.get_by_id(account.id), "balance", True, actor=job("rent"), reason="balance below zero")
    assert Account.get_by_id(account.id).state == "balance"
    assert _rows(account) == []
