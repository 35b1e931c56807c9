"""JSON API /api/v1: bearer-token auth tied to a manager's role; errors as
{"error": "...", "fields": {...}} in the request's language."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from lanbill.billing.actor import Actor
from lanbill.billing.errors import BillingError

bp = Blueprint("api", __name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict | None = None, **params):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.params = params


def error_response(status: int, message: str, fields: dict | None = None, **params):
    body = {
        "error": gettext(message, **params) if params else gettext(message),
        "fields": {k: gettext(v) for k, v in (fields or {}).items()},
    }
    return jsonify(body), status


@bp.before_request
def authenticate():
    from lanbill.billing.staff import manager_for_token

    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return error_response(401, "Missing bearer token.")
    manager = manager_for_token(header[7:].strip())
    if manager is None:
        return error_response(401, "Invalid token.")
    g.api_manager = manager
    g.api_actor = Actor(f"api:{manager.login}", manager_id=manager.id,
                        ip=request.remote_addr or "", is_staff=True)
    return None


def actor() -> Actor:
    return g.api_actor


def require(permission: str) -> None:
    if not g.api_manager.can(permission):
        raise ApiError(403, "Your role does not allow this.")


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "The request body must be a JSON object.")
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.fields, **exc.params)


@bp.errorhandler(BillingError)
def _billing_error(exc: BillingError):
    return error_response(exc.status, exc.message, exc.fields, **exc.params)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    messages = {404: "Not found.", 405: "Method not allowed.", 400: "Bad request."}
    return error_response(exc.code or 500, messages.get(exc.code, exc.name))


from lanbill.api import views  # noqa: E402,F401
