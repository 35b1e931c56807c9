"""Every admin URL checks permissions on the server: walked from
app.url_map (every admin page, new ones included) as a manager whose role
lacks the route's permissions → 403/404.
Routes without a declared permission must be in the short list of pages
any logged-in manager may use."""

from __future__ import annotations

import re

import pytest

from lanbill.admin.views import OPEN_ENDPOINTS
from lanbill.models.staff import PERMISSIONS
from tests.admin_helpers import PASSWORD, make_manager
from tests.factories import make_account, make_agreement

# Pages any logged-in manager may use: their own preferences, the
# dashboard entry, and logging out.
ALWAYS_OPEN = set(OPEN_ENDPOINTS) | {"admin.dashboard"}


def _admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin")]


def _url(rule, ids) -> str:
    def value(match):
        name = match.group(1).split(":")[-1]
        return str(ids.get(name, 1)) if name.endswith("id") else "x"

    return re.sub(r"<([^>]+)>", value, rule.rule)


def test_every_admin_route_declares_its_permission(app):
    missing = []
    for rule in _admin_rules(app):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint not in ALWAYS_OPEN and not getattr(view, "required_permissions", None):
            missing.append(rule.endpoint)
    assert not missing, f"admin routes without a permission check: {missing}"


@pytest.fixture
def world(app):
    account = make_account(make_agreement())
    return {"subscriber_id": account.subscriber_id, "agreement_id": account.agreement_id,
            "account_id": account.id}


def test_a_manager_without_the_permission_gets_403_or_404_everywhere(app, client, login_as, world):
    checked = 0
    by_needed: dict[frozenset, list] = {}
    for rule in _admin_rules(app):
        needed = frozenset(getattr(app.view_functions[rule.endpoint], "required_permissions", ()) or ())
        if needed:
            by_needed.setdefault(needed, []).append(rule)
    for index, (needed, rules) in enumerate(sorted(by_needed.items(), key=lambda kv: sorted(kv[0]))):
        login = f"m{index}"
        make_manager(login, permissions=[p for p in PERMISSIONS if p not in needed])
        client.get("/logout")
        login_as(login, PASSWORD)
        for rule in rules:
            checked += _check_rule(client, rule, world)
    assert checked >= 10


def _check_rule(client, rule, world) -> int:
    url = _url(rule, world)
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
        response = client.open(url, method=method, data={})
        assert response.status_code in (403, 404), (rule.endpoint, method, url, response.status_code)
    return 1


def test_anonymous_is_sent_to_login(app, client, world):
    for rule in _admin_rules(app):
        url = _url(rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={})
            assert response.status_code in (302, 401, 403, 404), (rule.endpoint, method)
            if response.status_code == 302:
                assert "/login" in response.location


def test_a_limited_manager_gets_404_for_another_groups_objects(app, client, login_as, world):
    from tests.admin_helpers import make_group

    make_manager("outsider", groups=[make_group("Чужая")])
    login_as("outsider", PASSWORD)
    for url in [f"/admin/subscribers/{world['subscriber_id']}", f"/admin/agreements/{world['agreement_id']}",
                f"/admin/accounts/{world['account_id']}", f"/admin/payments?agreement={world['agreement_id']}",
                f"/admin/payments?subscriber={world['subscriber_id']}",
                f"/admin/accounts/new?subscriber={world['subscriber_id']}"]:
        assert client.get(url).status_code == 404, url
    for url in [f"/admin/accounts/{world['account_id']}/block", f"/admin/payments/{world['agreement_id']}",
                f"/admin/subscribers/{world['subscriber_id']}/delete"]:
        assert client.post(url, data={"b-reason": "x", "amount": "1", "document_number": "1"}).status_code == 404
