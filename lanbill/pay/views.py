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
from lanbill.pay.gateway import Answer, check_pay, database_failed
from lanbill.paysys import atol, receipts, systems, yookassa

log = logging.getLogger(__name__)


def _params() -> dict:
    return {key: request.values.get(key, "") for key in request.values}


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers.items():
        response.headers[name] = value
    return response


def _not_found():
    return Response("Not found\n", status=404, mimetype="text/plain")


def _ttl() -> float:
    return float(current_app.config.get("PAYSYS_CACHE_SECONDS", 5))


def _system(code: str):
    return systems.find_system(code, ttl=_ttl())


@bp.route("/<code>", methods=["GET", "POST"])
def gateway(code):
    """A check/pay request of an OSMP or Sberbank Online system (the same
    answer lanbill.pay.fast gives before Flask is reached)."""
    answer = check_pay(code, _params(), address=request.remote_addr or "",
                       authorization=request.headers.get("Authorization"), ttl=_ttl())
    return _not_found() if answer is None else _response(answer)


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


@bp.route("/atol/callback", methods=["POST"])
@bp.route("/atol/callback/<uuid>", methods=["POST"])
def atol_callback(uuid=None):
    """ATOL Online's callback with a receipt's report (the `callback_url`
    of the fiscal settings: https://<billing>/pay/atol/callback).  Only the
    uuid is taken from it — from the path or the body, the same when
    both — and the report is read back from ATOL before anything is
    stored (lanbill.paysys.receipts.accept_callback).  200 when handled,
    404 for a uuid we never sent, 400 for a malformed body, 503 when ATOL
    could not be asked."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "bad request"}), 400
    given = str(body.get("uuid") or "")
    if uuid and given and given != uuid:
        return jsonify({"error": "bad request"}), 400
    try:
        receipt = receipts.accept_callback(uuid or given)
    except atol.AtolError:
        return jsonify({"error": "retry later"}), 503
    if receipt is None:
        return jsonify({"error": "unknown receipt"}), 404
    return jsonify({"result": receipt.status}), 200


@bp.errorhandler(peewee.DatabaseError)
@bp.errorhandler(peewee.InterfaceError)
def _database_failed(exc):
    """The database failed: the protocol's "retry later" answer."""
    if request.path.endswith("/notify") or "/atol/callback" in request.path:
        log.error("payment gateway: database failure (%s); answered retry", type(exc).__name__)
        return jsonify({"error": "retry later"}), 503
    return _response(database_failed(_params(), exc))
