"""JSON API /api/v1: bearer-token auth tied to a manager's role; errors as
{"error": "...", "fields": {...}} in the request's language.

Resource modules (one per resource) register their routes on `bp`; they
use `actor()`, `require(permission)` and `json_body()` from here and the
type checks in lanbill.api.common.  Views stay thin: check the JSON types →
call one domain function (billing, customers, staff, network) → serialise.
"""

from __future__ import annotations

import logging
import threading
import time

import peewee
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext, refresh
from werkzeug.exceptions import HTTPException, NotFound

from lanbill.actor import Actor
from lanbill.api.common import MAX_INT, ApiError
from lanbill.errors import N_, BillingError
from lanbill.staff.tokens import find_token, is_expired, note_use, token_hash

bp = Blueprint("api", __name__)

log = logging.getLogger(__name__)

# Endpoints answered without a token.
PUBLIC_ENDPOINTS = {"api.openapi"}
UNSUPPORTED_TYPE = N_("Send the request body as JSON, with the header Content-Type: application/json.")


def error_response(status: int, message: str, fields: dict | None = None, **params):
    body = {
        "error": gettext(message, **params) if params else gettext(message),
        "fields": {k: _field_message(v) for k, v in (fields or {}).items()},
    }
    return jsonify(body), status


def _field_message(message) -> str:
    """A field's message: a msgid, or (msgid, params) where it names a limit."""
    if isinstance(message, tuple):
        text, params = message
        return gettext(text, **params)
    return gettext(message)


# token hash → (token row with its manager and role, time looked up): a
# token is checked in the database at most every few seconds per process,
# which saves a three-table query on every call; revoking a token,
# deactivating its manager or changing the role takes effect within that
# time (API_TOKEN_CACHE_SECONDS in the app config, default 5; 0 disables
# it).  Expiry is checked on every request against the clock.
_token_cache: dict[str, tuple[object, float]] = {}
_TOKEN_CACHE_SIZE = 1000
_token_lock = threading.Lock()

# Methods a read-only token may use.
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def _token_row(token: str):
    ttl = current_app.config.get("API_TOKEN_CACHE_SECONDS", 5)
    if not ttl:
        return find_token(token)
    key, now = token_hash(token), time.time()
    cached = _token_cache.get(key)
    if cached is not None and now - cached[1] < ttl:
        return cached[0]
    row = find_token(token)
    with _token_lock:
        if len(_token_cache) >= _TOKEN_CACHE_SIZE:
            _token_cache.clear()
        if row is None:
            _token_cache.pop(key, None)
        else:
            _token_cache[key] = (row, now)
    return row


def _note_use(row) -> None:
    try:
        note_use(row)
    except peewee.OperationalError as exc:
        # The time of last use is a hint for staff; a busy database must
        # not refuse the request for it.
        log.warning("last use of API token %s not recorded: %s", row.id, exc)


@bp.before_request
def authenticate():
    # Flask-Babel caches the locale on `g`; where one app context serves
    # several requests (the test client inside a test's app context) the
    # first request's language would stick.  Each request chooses its own.
    refresh()
    for key in ("api_manager", "api_actor", "api_currency_codes"):
        g.pop(key, None)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return error_response(401, N_("Missing bearer token."))
    row = _token_row(header[7:].strip())
    if row is None or not row.manager.is_active:
        return error_response(401, N_("Invalid token."))
    if is_expired(row):
        return error_response(401, N_("The token has expired; ask for a new one."))
    if row.scope != "full" and request.method not in READ_METHODS:
        return error_response(403, N_("This token is read-only: it may only read data."))
    _note_use(row)
    manager = row.manager
    g.api_manager = manager
    g.api_actor = Actor(f"api:{manager.login}", manager_id=manager.id,
                        ip=request.remote_addr or "", is_staff=True)
    return None


def actor() -> Actor:
    return g.api_actor


def require(permission: str) -> None:
    """403 unless the token's role has `permission` (lanbill.models.staff.PERMISSIONS)."""
    if not g.api_manager.can(permission):
        raise ApiError(403, N_("Your role does not allow this."))


def json_body() -> dict:
    """The request's JSON object, or a refusal that says what is wrong:
    415 unless the body is declared JSON (Content-Type: application/json —
    a form or text/plain body is not read as JSON), 400 for a body that is
    not a JSON object or is nested too deeply to read."""
    if not request.is_json:
        raise ApiError(415, UNSUPPORTED_TYPE)
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, N_("The JSON body is nested too deeply.")) from None
    if data is None or not isinstance(data, dict):
        raise ApiError(400, N_("The request body must be a JSON object."))
    return data


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.fields, **exc.params)


@bp.errorhandler(BillingError)
def _billing_error(exc: BillingError):
    return error_response(exc.status, exc.message, exc.fields, **exc.params)


@bp.errorhandler(peewee.IntegrityError)
def _integrity_error(exc):
    # A unique constraint hit by a racing request the domain checks could
    # not see yet; the transaction has rolled back, nothing was written.
    return error_response(409, N_("The request conflicts with data saved meanwhile; try again."))


@bp.errorhandler(peewee.DataError)
@bp.errorhandler(OverflowError)
def _out_of_range(exc):
    # A safety net under the type checks: a value the database cannot
    # store; the transaction has rolled back.
    return error_response(422, N_("A value is out of range or too long."))


@bp.url_value_preprocessor
def _ids_in_range(endpoint, values):
    """An id in a URL beyond any column's range names nothing: 404."""
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_INT:
            raise NotFound()


HTTP_MESSAGES = {
    400: N_("Bad request."),
    404: N_("Not found."),
    405: N_("Method not allowed."),
    413: N_("The request is too large."),
    415: UNSUPPORTED_TYPE,
}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    response = error_response(exc.code or 500, HTTP_MESSAGES.get(exc.code, exc.name))
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        response[0].headers["Allow"] = ", ".join(exc.valid_methods)
    return response


# The resource modules register their routes on `bp`, so they are imported
# once it exists.
from lanbill.api import views  # noqa: E402,F401
