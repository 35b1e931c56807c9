"""/healthz (JSON) and /metrics (Prometheus text) for monitoring (DESIGN §14):
no login, answered only to the addresses in MONITORING_ALLOWED (loopback by
default; behind nginx with TRUSTED_PROXIES the client's real address)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request

from lanbill.operations.health import address_allowed, check_health
from lanbill.operations.metrics import CONTENT_TYPE, render_metrics

bp = Blueprint("monitoring", __name__)


@bp.before_request
def _only_configured_addresses():
    if not address_allowed(request.remote_addr, current_app.config.get("MONITORING_ALLOWED")):
        abort(403)


@bp.route("/healthz")
def healthz():
    report = check_health(current_app.config)
    report["version"] = current_app.config.get("LANBILL_VERSION")
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/metrics")
def metrics():
    return Response(render_metrics(current_app.config), content_type=CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})
