"""What staff see of the RADIUS agent's defences: the status page (last
packet, retransmissions answered from the cache) and the warning for a
NAS that does not require a Message-Authenticator."""

from __future__ import annotations

import re

from agents.radius.server import publish_status
from lanbill.network.agents import MESSAGE_AUTHENTICATOR_OFF
from tests.admin_helpers import ru
from tests.agents.test_radius_trust import Nas, access_request
from tests.factories import make_account, make_agent, make_nas


def _fact(page: str, css: str) -> str:
    return re.search(rf'<dd class="{css}">(.*?)</dd>', page).group(1)


def test_status_page_shows_the_last_packet_after_fewer_packets_than_a_burst(app, client, admin, login_as,
                                                                            radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="few1", password="pw-1", max_sessions=0)
    radius.refresh()
    nas = Nas(radius.auth_port)
    request = access_request("few1", b"pw-1")
    assert nas.exchange(request) and nas.exchange(request)  # the second is a retransmission
    nas.close()
    publish_status(radius.worker, {})
    login_as()
    page = client.get("/admin/radius/status").get_data(as_text=True)
    assert _fact(page, "last-packet") != ru("never")
    assert _fact(page, "duplicates") == "1"


def test_nas_without_message_authenticator_is_flagged_in_the_list_its_form_and_its_agent(app, client, admin,
                                                                                        login_as):
    agent = make_agent(name="rad-1")
    safe = make_nas(name="safe-nas", agent_id=agent.id)
    login_as()
    warning = ru(MESSAGE_AUTHENTICATOR_OFF)
    assert warning not in client.get("/admin/nas").get_data(as_text=True)
    assert warning not in client.get(f"/admin/nas/{safe.id}").get_data(as_text=True)
    # staff turn the requirement off on the NAS form
    response = client.post(f"/admin/nas/{safe.id}", data={
        "version": safe.version, "name": "safe-nas", "ip": safe.ip, "vendor": "mikrotik", "coa_port": "3799",
        "agent_id": agent.id}, follow_redirects=True)
    assert response.status_code == 200
    assert warning in response.get_data(as_text=True)
    listing = client.get("/admin/nas").get_data(as_text=True)
    assert listing.count(warning) == 1
    assert warning in client.get(f"/admin/agents/{agent.id}").get_data(as_text=True)
