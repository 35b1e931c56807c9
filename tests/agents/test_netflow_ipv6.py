"""IPv6 flows over real UDP to the listener: accounts found by exact
address (/128) and by longest prefix among nested subnets, categories by
the longest remote prefix of the account's tariff, unmatched counted."""

from __future__ import annotations

import pytest

from lanbill.models.traffic import NetflowStatus
from lanbill.network import traffic_categories
from tests.agents.test_netflow_protocol import FIELDS6, build_ipfix, build_v9, data_set, template_set
from tests.agents.test_netflow_server import Running, by_category
from tests.factories import ACTOR, make_account, make_agent, make_tariff


@pytest.fixture
def setup6(app):
    agent = make_agent(type="netflow", listen_address="127.0.0.1", options={"exporters": ["127.0.0.1", "::1"]})
    tariff = make_tariff(prepaid_mb=0)

    def category(name, networks):
        return traffic_categories.create_category(tariff.id, {"name": name, "networks": networks,
                                                             "price_in_mb": "0"}, actor=ACTOR).id

    ids = {
        "local": category("Local", "fd00::/8"),
        "peer": category("Peer", "fd00:1::/32, 2a00:1::5/128"),  # inside Local, and one exact address
        "internet": category("Internet", ""),
        "wide": make_account(agent=agent, tariff=tariff, ips=["2001:db8:1::/48"]).id,
        "subnet": make_account(agent=agent, tariff=tariff, ips=["2001:db8:1:2::/64"]).id,  # inside "wide"
        "host": make_account(agent=agent, tariff=tariff, ips=["2001:db8:1:2::10/128"]).id,  # inside "subnet"
        "agent": agent.id,
    }
    app.config["NETFLOW_PORT"] = 0
    app.config["NETFLOW_MAX_CLOCK_SKEW_SECONDS"] = 0  # the packets carry EXPORT_TIME, a fixed moment
    return ids


def test_ipv6_flows_match_exact_and_longest_prefix_accounts_and_categories(app, setup6):
    ids = setup6
    running = Running(app)
    running.send(
        build_ipfix([template_set(2, 301, FIELDS6)]),
        build_ipfix([data_set(301, [
            ("2001:db8:1:5::1", "fd00:2::1", 100, 1000, 80),  # wide → Local
            ("fd00:1::7", "2001:db8:1:2::20", 200, 80, 1000),  # Peer → subnet
            ("2a00:1::5", "2001:db8:1:2::10", 300, 80, 1000),  # Peer (exact /128) → host
            ("2001:db8:1:2::10", "2a00::1", 400, 1000, 443),  # host → Internet
            ("2001:db8:1:2::10", "2001:db8:1:7::1", 500, 1000, 22),  # host → wide: counted for both
            ("2001:db9::1", "2a00::1", 600, 1, 2),  # nobody's
        ])], sequence=0),
        build_v9([template_set(0, 256, FIELDS6), data_set(256, [("fd00:1:ffff::1", "2001:db8:1::1", 70, 1, 2)])]),
    )
    running.finish()
    assert by_category(ids["wide"]) == {ids["local"]: (0, 100), ids["internet"]: (500, 0), ids["peer"]: (70, 0)}
    assert by_category(ids["subnet"]) == {ids["peer"]: (200, 0)}
    assert by_category(ids["host"]) == {ids["peer"]: (300, 0), ids["internet"]: (0, 900)}
    status = NetflowStatus.get(NetflowStatus.agent_id == ids["agent"])
    assert (status.records, status.unmatched_records, status.unmatched_bytes, status.malformed) == (7, 1, 600, 0)
