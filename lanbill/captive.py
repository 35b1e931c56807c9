"""The "please pay" page for subscribers the RADIUS agent put into the
redirect pool (DESIGN §7): found by the client's IP, it shows the balance
and a link to the cabinet.  No login: it reveals only the agreement number
and balance, to whoever holds that IP."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, render_template, request

from lanbill.billing.blocks import available_funds
from lanbill.models import Account, AccountIp, Agreement
from lanbill.models.radius import RadiusSession

bp = Blueprint("captive", __name__)


def account_for_ip(ip: str):
    """The account behind an address: an open RADIUS session with that
    Framed-IP-Address (redirect-pool addresses), else the accounts' own
    addresses and subnets (longest prefix)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    session = (RadiusSession.select(RadiusSession.account_id)
               .where((RadiusSession.framed_ip == str(address)) & RadiusSession.stopped_at.is_null()
                      & RadiusSession.account_id.is_null(False))
               .order_by(RadiusSession.id.desc()).first())
    if session is not None:
        return Account.get_or_none(Account.id == session.account_id)
    exact = AccountIp.get_or_none(AccountIp.network == f"{address}/{address.max_prefixlen}")
    if exact is not None:
        return exact.account
    best = None
    for row in AccountIp.select().where(~AccountIp.network.endswith(f"/{address.max_prefixlen}")):
        try:
            network = ipaddress.ip_network(row.network)
        except ValueError:
            continue
        if address in network and (best is None or network.prefixlen > best[0]):
            best = (network.prefixlen, row.account_id)
    return Account.get_or_none(Account.id == best[1]) if best else None


@bp.route("/blocked")
def blocked():
    account = account_for_ip(request.remote_addr or "")
    agreement = Agreement.get_by_id(account.agreement_id) if account is not None else None
    funds = available_funds(agreement) if agreement is not None else None
    return render_template("captive/blocked.html", account=account, agreement=agreement, funds=funds)
