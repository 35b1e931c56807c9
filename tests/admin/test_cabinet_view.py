"""The subscriber's cabinet opened by staff, read only: the pages show the
subscriber's own figures, are marked «только чтение», hold no form that
changes anything, refuse a POST, start no cabinet session, stay out of
reach of a manager outside the subscriber's groups, and each opening is
in the audit log."""

from __future__ import annotations

import re

import pytest

from lanbill.billing.payments import post_payment
from lanbill.models import AuditLog, SubscriberGroup
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_account, make_agreement, make_subscriber

PAGES = ("", "/payments", "/charges", "/blocks", "/traffic")


@pytest.fixture
def subscriber_with_money(app):
    subscriber = make_subscriber(name="Кабинетов Пётр")
    agreement = make_agreement(subscriber)
    account = make_account(agreement, login="kabinetov")
    post_payment(agreement, "1234,50", "ПКО-12", actor="system")
    return subscriber, agreement, account


def test_card_links_to_the_read_only_cabinet(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, _account = subscriber_with_money
    login_as()
    card = client.get(f"/admin/subscribers/{subscriber.id}").get_data(as_text=True)
    assert f'href="/admin/subscribers/{subscriber.id}/cabinet"' in card
    assert ru("Open the cabinet (read only)") in card


def test_every_page_is_marked_read_only_and_has_no_changing_form(client, admin, login_as, subscriber_with_money):
    subscriber, agreement, account = subscriber_with_money
    login_as()
    for page in (*PAGES, f"/traffic/{account.id}"):
        response = client.get(f"/admin/subscribers/{subscriber.id}/cabinet{page}")
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        assert "Просмотр кабинета абонента (только чтение)" in html, page
        assert "Кабинетов Пётр" in html
        forms = re.findall(r"<form\b[^>]*>", html, flags=re.I)
        assert all('method="get"' in form for form in forms), (page, forms)
        assert "csrf_token" not in html
        # no link into the subscriber's own cabinet (which would need their session)
        assert 'action="/' not in html.replace(f'action="/admin/subscribers/{subscriber.id}/cabinet', "")
        # the cabinet's own page templates are shown: every link stays in the staff's view
        links = re.findall(r'href="([^"]+)"', html)
        assert links and all(link.startswith(("/admin/", "/static/")) for link in links), (page, links)
        assert "Download CSV" not in html and "Скачать CSV" not in html


def test_home_shows_the_subscribers_balance_and_disabled_actions(client, admin, login_as, subscriber_with_money):
    subscriber, agreement, account = subscriber_with_money
    login_as()
    html = client.get(f"/admin/subscribers/{subscriber.id}/cabinet").get_data(as_text=True)
    balance = re.search(rf'id="balance-{agreement.id}">([^<]+)<', html).group(1)
    assert balance.replace("\u00a0", " ").startswith("1 234,50")
    assert agreement.number in html and "kabinetov" in html
    assert re.search(r"<button[^>]*disabled[^>]*>Заблокировать добровольно</button>", html)
    payments = client.get(f"/admin/subscribers/{subscriber.id}/cabinet/payments").get_data(as_text=True)
    assert "ПКО-12" in payments


def test_post_is_refused_and_changes_nothing(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, account = subscriber_with_money
    login_as()
    state = account.state
    for page in (*PAGES, f"/traffic/{account.id}"):
        assert client.post(f"/admin/subscribers/{subscriber.id}/cabinet{page}",
                           data={"value": "on"}).status_code == 405, page
    assert type(account).get_by_id(account.id).state == state


def test_no_cabinet_session_is_started(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, _account = subscriber_with_money
    login_as()
    client.get(f"/admin/subscribers/{subscriber.id}/cabinet")
    with client.session_transaction() as session:
        assert not any(key.startswith("cabinet_") for key in session)
    # the cabinet itself still shows its login page to this browser
    assert 'id="login"' in client.get("/").get_data(as_text=True)


def test_opening_is_audited_in_words(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, _account = subscriber_with_money
    login_as()
    client.get(f"/admin/subscribers/{subscriber.id}/cabinet/payments")
    row = AuditLog.select().where(AuditLog.action == "subscriber.cabinet_view").get()
    assert row.object_id == str(subscriber.id) and row.manager_id == admin.id
    assert row.after == {"page": "payments"}
    log = client.get("/admin/audit").get_data(as_text=True)
    assert ru("Cabinet opened by staff (read only)") in log


def test_another_groups_subscriber_is_out_of_reach(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, account = subscriber_with_money
    north = make_group("Север")
    make_manager("north", groups=[north])
    login_as("north", PASSWORD)
    for page in (*PAGES, f"/traffic/{account.id}"):
        assert client.get(f"/admin/subscribers/{subscriber.id}/cabinet{page}").status_code == 404, page
    assert not AuditLog.select().where(AuditLog.action == "subscriber.cabinet_view").exists()
    # once the subscriber is in the manager's group, the cabinet opens
    SubscriberGroup.create(subscriber=subscriber, group=north)
    assert client.get(f"/admin/subscribers/{subscriber.id}/cabinet").status_code == 200


def test_someone_elses_account_is_404(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, _account = subscriber_with_money
    other = make_account(make_agreement(make_subscriber()))
    login_as()
    assert client.get(f"/admin/subscribers/{subscriber.id}/cabinet/traffic/{other.id}").status_code == 404


def test_without_the_view_permission_it_is_403(client, admin, login_as, subscriber_with_money):
    subscriber, _agreement, _account = subscriber_with_money
    make_manager("cashier", permissions=["payments.create"])
    login_as("cashier", PASSWORD)
    assert client.get(f"/admin/subscribers/{subscriber.id}/cabinet").status_code == 403
