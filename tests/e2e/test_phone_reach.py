"""On a phone (390×844) the day's main actions are reachable without
scrolling past whole forms: the subscriber card starts with its agreements
(balance, "take a payment") and accounts (state, block); the account page
starts with its state and the block form; the payment page with an
agreement chosen starts with the payment form."""

from __future__ import annotations

from tests.e2e.conftest import log_in
from tests.factories import make_account

SCREEN = 844


def _top(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"]


def test_main_actions_are_on_the_first_screen_of_a_phone(app, admin, live_server, phone, shot):
    account = make_account(login="mobile-1")
    log_in(phone, live_server)
    phone.goto(f"{live_server}/admin/subscribers/{account.subscriber_id}")
    assert _top(phone, f"#quick-payment-{account.agreement_id}") < SCREEN
    assert _top(phone, f"#quick-block-{account.id}") < SCREEN
    shot(phone, "phone-subscriber-card")
    phone.goto(f"{live_server}/admin/accounts/{account.id}")
    assert _top(phone, "#block") < SCREEN
    shot(phone, "phone-account")
    phone.goto(f"{live_server}/admin/payments?agreement={account.agreement_id}")
    assert _top(phone, "#payment-form") < SCREEN
    assert _top(phone, "#find") > _top(phone, "#payment-form")
    shot(phone, "phone-payment")
