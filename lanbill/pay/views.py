"""The gateway views: find the system by its code, check the source
address (request.remote_addr — behind nginx the address ProxyFix took from
X-Forwarded-For with TRUSTED_PROXIES) and the HTTP basic credentials, then
hand the request's fields to the system's protocol module and send back
its answer.

Refusals speak the protocol: a wrong address (HTTP 403) or wrong
credentials (HTTP 401) get the protocol's own "access denied" code and
change nothing; a database failure — while finding the system, while
booking, or opening the connection — answers the protocol's "temporary
error, retry" code (HTTP 200 with the code, as the protocol expects), or
HTTP 503 for ЮKassa, which retries anything but 200.  When the database
fails before the system is known, the protocol is recognised from the
request's fields (command= is OSMP, ACTION= is Sberbank Online)."""

from __future__ import annotations

import logging

import peewee
from flask import Response, current_app, jsonify, request

from lanbill.pay import bp
from lanbill.paysys import osmp, sberbank, systems, yookassa

log = logging.getLogger(__name__)

PROTOCOLS = {"osmp": osmp, "sberbank_online": sberbank}
DATABASE_ERRORS = (peewee.DatabaseError, peewee.InterfaceError)


def _params() -> dict:
    return {key: request.values.get(key, "") for key in request.values}


def _xml(text: str, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(text, status=status, mimetype="text/xml")
    response.charset = "utf-8"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _not_found():
    return Response("Not found\n", status=404, mimetype="text/plain")


def _system(code: str):
    return systems.find_system(code, ttl=float(current_app.config.get("PAYSYS_CACHE_SECONDS", 5)))


def _guarded(system, protocol):
    """The protocol's refusal when the address or the credentials are wrong, else None."""
    address = request.remote_addr or ""
    if not systems.address_allowed(system, address):
        log.warning("payment system %s: request from a disallowed address refused", system.code)
        return _xml(protocol.access_denied(_params()), 403)
    auth = request.authorization
    login = auth.username if auth and auth.type == "basic" else None
    password = auth.password if auth and auth.type == "basic" else None
    if not systems.credentials_ok(system, login, password):
        log.warning("payment system %s: wrong credentials refused", system.code)
        return _xml(protocol.access_denied(_params()), 401,
                    {"WWW-Authenticate": f'Basic realm="{system.code}"'})
    return None


@bp.route("/<code>", methods=["GET", "POST"])
def gateway(code):
    """A check/pay request of an OSMP or Sberbank Online system."""
    system = _system(code)
    protocol = PROTOCOLS.get(system.kind) if system is not None else None
    if protocol is None:
        return _not_found()
    refused = _guarded(system, protocol)
    if refused is not None:
        return refused
    return _xml(protocol.handle(system, _params(), address=request.remote_addr or ""))


@bp.route("/<code>/notify", methods=["POST"])
def notify(code):
    """A ЮKassa notification: trusted only after reading the payment back
    (lanbill.paysys.yookassa.handle_notification).  200 when handled
    (booked, already booked, or ignored); 503 when ЮKassa or the database
    could not be reached, so that ЮKassa sends it again."""
    system = _system(code)
    if system is None or system.kind != "yookassa":
        return _not_found()
    if not systems.address_allowed(system, request.remote_addr or ""):
        log.warning("payment system %s: notification from a disallowed address refused", system.code)
        return jsonify({"error": "forbidden"}), 403
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "bad request"}), 400
    try:
        outcome = yookassa.handle_notification(system, body)
    except yookassa.ProviderUnavailable:
        return jsonify({"error": "retry later"}), 503
    return jsonify({"result": outcome}), 200


@bp.errorhandler(peewee.DatabaseError)
@bp.errorhandler(peewee.InterfaceError)
def _database_failed(exc):
    """The database failed: the protocol's "retry later" answer."""
    log.error("payment gateway: database failure (%s); answered retry", type(exc).__name__)
    if request.path.endswith("/notify"):
        return jsonify({"error": "retry later"}), 503
    params = _params()
    if "command" in params or "txn_id" in params:
        return _xml(osmp.temporary_error(params))
    if "ACTION" in params:
        return _xml(sberbank.temporary_error(params))
    return Response("Temporary error, retry later\n", status=503, mimetype="text/plain")
