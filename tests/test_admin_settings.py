"""Settings screens: tariffs, agents, NAS, operators, groups, currencies,
addresses — each renders, refuses bad input in Russian and saves nothing,
refuses a stale form, and writes through the service functions with audit."""

from __future__ import annotations

import pytest

from tests.factories import make_agent, make_nas, make_tariff


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as()
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


def test_settings_screens_render_for_admin(admin_client):
    tariff = make_tariff()
    agent = make_agent()
    nas = make_nas(agent_id=agent.id)
    for url in ("/admin/tariffs", "/admin/tariffs/new", f"/admin/tariffs/{tariff.id}",
                "/admin/operators", "/admin/operators/new", "/admin/operators/1",
                "/admin/groups", "/admin/groups/new", "/admin/groups/1",
                "/admin/currencies", "/admin/currencies/1", "/admin/currencies/2",
                "/admin/agents", "/admin/agents/new/radius", "/admin/agents/new/netflow", "/admin/agents/new/usbox",
                f"/admin/agents/{agent.id}", "/admin/nas", "/admin/nas/new", f"/admin/nas/{nas.id}",
                "/admin/addresses", "/admin/staff", "/admin/staff/new", "/admin/staff/1", "/admin/roles",
                "/admin/roles/new", "/admin/roles/1", "/admin/audit", "/admin/dashboard", "/admin/"):
        response = admin_client.get(url)
        assert response.status_code == 200, (url, html(response)[:3000])
        assert "LANBill" in html(response)

