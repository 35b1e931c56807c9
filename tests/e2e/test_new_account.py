"""A new account in a real browser: no agent or tariff chosen in advance,
a refusal until staff choose them, a generated password shown in the
field, the next free IP from the agent's pools, and the account saved with
both."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lanbill.models import Account
from tests.admin_helpers import ru
from tests.e2e.conftest import log_in
from tests.factories import make_account, make_agent, make_agreement, make_tariff


def test_new_account_with_generated_password_and_next_free_ip(app, admin, live_server, page, shot):
    agent = make_agent(name="radius-pools", options={"ip_pools": ["10.77.0.0/29"]})
    make_agent(name="netflow-1", type="netflow")
    make_account(agent=agent, login="taken", ips="10.77.0.1")
    tariff = make_tariff(name="Домашний")
    agreement = make_agreement()
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/accounts/new?subscriber={agreement.subscriber_id}")
    assert page.locator("#agent_id").input_value() == "0"
    assert page.locator("#tariff_id").input_value() == "0"
    page.fill("#login", "novy")
    page.click("#account-form button[type=submit]")
    expect(page.locator(".field.invalid #agent_id")).to_have_count(1)
    expect(page.locator(".field.invalid #tariff_id")).to_have_count(1)
    assert not Account.select().where(Account.login == "novy").exists()

    # the pool button asks for an agent first
    page.click("#next-free-ip")
    expect(page.locator("#next-free-ip-message")).to_have_text(ru("Choose an agent first."))
    page.select_option("#agent_id", str(agent.id))
    page.select_option("#tariff_id", str(tariff.id))
    page.click("#next-free-ip")
    expect(page.locator("#ips")).to_have_value("10.77.0.2")
    page.click("#generate-password")
    password = page.locator("#password").input_value()
    assert len(password) == 12 and page.locator("#password").get_attribute("type") == "text"
    shot(page, "new-account-filled")
    page.click("#account-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/accounts/\d+$"))
    account = Account.get(Account.login == "novy")
    assert (account.agent_id, account.tariff_id) == (agent.id, tariff.id)
    assert [ip.network for ip in account.ips] == ["10.77.0.2/32"]
    assert account.password == password
