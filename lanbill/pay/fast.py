"""The check/pay requests of payment terminals answered before Flask.

Terminals and aggregators speaking OSMP or Sberbank Online call
`/pay/<code>` hundreds of times a second, without cookies, sessions or
pages: Flask's request machinery (session, login, locale, URL routing,
response object) cost about as much CPU as checking an agreement.  This
WSGI middleware answers exactly those requests — GET, or POST of a
urlencoded form, to `/pay/<code>` of an OSMP or Sberbank Online system —
with the same code as the Flask view (lanbill.pay.gateway) and the same
security headers; everything else (ЮKassa notifications, other kinds of
system, unknown codes, unusual requests) goes on to Flask unchanged.

It sits inside ProxyFix (install()), so the source address it checks is
the one ProxyFix took from X-Forwarded-For when TRUSTED_PROXIES is set.
Database use mirrors the application's request hooks: the connection is
opened if needed and, on PostgreSQL, closed after the answer.
"""

from __future__ import annotations

import io
import logging
import re
from urllib.parse import parse_qsl

from lanbill.db import database, is_sqlite
from lanbill.pay.gateway import DATABASE_ERRORS, Answer, check_pay, database_failed

log = logging.getLogger("lanbill.pay.views")

PATH = re.compile(r"^/pay/([a-z0-9_-]{2,24})$")
FORM = "application/x-www-form-urlencoded"
STATUS = {200: "200 OK", 401: "401 UNAUTHORIZED", 403: "403 FORBIDDEN", 500: "500 INTERNAL SERVER ERROR",
          503: "503 SERVICE UNAVAILABLE"}


class FastGateway:
    """WSGI middleware in front of the Flask application (see the module)."""

    def __init__(self, app, config, headers: dict | None = None):
        self.app = app
        self.config = config
        self.headers = list((headers or {}).items())

    def __call__(self, environ, start_response):
        match = PATH.match(environ.get("PATH_INFO") or "")
        if match is None:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        body = b""
        if method == "POST":
            if environ.get("HTTP_TRANSFER_ENCODING"):
                return self.app(environ, start_response)
            content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return self.app(environ, start_response)
            limit = self.config.get("MAX_CONTENT_LENGTH")
            if (length and content_type != FORM) or (limit and length > limit) or length < 0:
                return self.app(environ, start_response)  # Flask answers what is unusual
            if length:
                body = environ["wsgi.input"].read(length)
                if len(body) != length:
                    return self._send(start_response, Answer(400, "Bad request\n", "text/plain; charset=utf-8"))
        elif method != "GET":
            return self.app(environ, start_response)
        params = _params(environ.get("QUERY_STRING") or "", body)
        try:
            database.connect(reuse_if_open=True)
            try:
                answer = check_pay(match.group(1), params, address=environ.get("REMOTE_ADDR") or "",
                                   authorization=environ.get("HTTP_AUTHORIZATION"),
                                   ttl=float(self.config.get("PAYSYS_CACHE_SECONDS", 5)))
            finally:
                if not is_sqlite() and not database.is_closed() and not database.in_transaction():
                    database.close()  # as the application's teardown does on PostgreSQL
        except DATABASE_ERRORS as exc:
            answer = database_failed(params, exc)
        except Exception:
            log.exception("payment gateway: request failed")
            answer = Answer(500, "Internal server error\n", "text/plain; charset=utf-8")
        if answer is None:  # not a check/pay system: Flask's 404 or another route
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        return self._send(start_response, answer)

    def _send(self, start_response, answer: Answer):
        body = answer.body.encode("utf-8")
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(body)))]
        headers += list(answer.headers.items()) + self.headers
        start_response(STATUS.get(answer.status, f"{answer.status} ERROR"), headers)
        return [body]


def _params(query: str, body: bytes) -> dict:
    """The request's fields as the Flask view reads them (request.values:
    the query string first, then the form; the first value of a name)."""
    params: dict = {}
    for text in (query, body.decode("utf-8", "replace") if body else ""):
        if text:
            for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"):
                params.setdefault(key, value)
    return params


def install(app, headers: dict | None = None) -> None:
    """Put the fast path in front of `app`'s own WSGI callable — inside
    ProxyFix when the application uses it, so the source address is
    already the client's."""
    outer = app.wsgi_app
    if hasattr(outer, "x_for") and hasattr(outer, "app"):  # werkzeug's ProxyFix
        outer.app = FastGateway(outer.app, app.config, headers)
    else:
        app.wsgi_app = FastGateway(outer, app.config, headers)
