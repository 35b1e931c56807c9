"""Disruptive actions ask first and say what will happen; a button that
cannot succeed is disabled with the reason beside it."""

from __future__ import annotations

import re

from tests.admin_helpers import ru
from tests.factories import make_account, make_subscriber


def _delete_form(page: str) -> str:
    return re.search(r'<form[^>]*subscribers/\d+/delete"[^>]*>.*?</form>', page, re.S).group(0)


def test_deleting_a_subscriber_with_accounts_is_disabled_with_the_reason(client, admin, login_as):
    login_as()
    busy = make_account().subscriber
    form = _delete_form(client.get(f"/admin/subscribers/{busy.id}").get_data(as_text=True))
    reason = ru("A subscriber with accounts cannot be deleted: delete the accounts or hand them over first.")
    assert " disabled" in form and reason in form
    free = make_subscriber()
    form = _delete_form(client.get(f"/admin/subscribers/{free.id}").get_data(as_text=True))
    assert " disabled" not in form and "data-confirm=" in form


def test_block_and_session_disconnect_forms_ask_first(client, admin, login_as):
    login_as()
    account = make_account()
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    block_form = re.search(r'<form[^>]*/block"[^>]*>', page).group(0)
    assert "data-confirm=" in block_form
