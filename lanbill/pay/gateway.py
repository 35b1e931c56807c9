"""The check/pay answer of `/pay/<code>` (OSMP/QIWI, Sberbank Online),
free of any web framework's request object, so that the Flask view and
the WSGI fast path (lanbill.pay.fast) answer from the same code.

Rules (unchanged from the view's): find the system by its code (cached,
lanbill.paysys.systems.find_system); a code that names no check/pay
system is not ours (the caller answers 404); a wrong source address
gets the protocol's "access denied" with HTTP 403, wrong HTTP basic
credentials the same with HTTP 401 and a WWW-Authenticate challenge;
otherwise the protocol module answers.  A database failure is the
caller's to catch (peewee.DatabaseError / InterfaceError): it answers
`database_failed(params)`, the protocol's "temporary error, retry".
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field

import peewee

from lanbill.paysys import osmp, sberbank, systems

log = logging.getLogger("lanbill.pay.views")

PROTOCOLS = {"osmp": osmp, "sberbank_online": sberbank}
DATABASE_ERRORS = (peewee.DatabaseError, peewee.InterfaceError)
XML = "text/xml; charset=utf-8"


@dataclass
class Answer:
    status: int
    body: str
    content_type: str = XML
    headers: dict = field(default_factory=dict)


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(login, password) of an `Authorization: Basic …` header, else
    (None, None) — read as Werkzeug reads it (UTF-8, the password after
    the first colon, empty without one)."""
    if not header:
        return None, None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        login, _, password = base64.b64decode(value.strip(" \t"), validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        return None, None
    return login, password


def check_pay(code: str, params: dict, *, address: str, authorization: str | None,
              ttl: float = 5.0) -> Answer | None:
    """The answer to one check/pay request, or None when `code` names no
    OSMP or Sberbank Online system."""
    system = systems.find_system(code, ttl=ttl)
    protocol = PROTOCOLS.get(system.kind) if system is not None else None
    if protocol is None:
        return None
    if not systems.address_allowed(system, address):
        log.warning("payment system %s: request from a disallowed address refused", system.code)
        return Answer(403, protocol.access_denied(params))
    login, password = basic_credentials(authorization)
    if not systems.credentials_ok(system, login, password):
        log.warning("payment system %s: wrong credentials refused", system.code)
        return Answer(401, protocol.access_denied(params), headers={"WWW-Authenticate": f'Basic realm="{system.code}"'})
    return Answer(200, protocol.handle(system, params, address=address))


def database_failed(params: dict, exc: BaseException) -> Answer:
    """The database failed: the protocol's "retry later" answer, the
    protocol recognised from the request's fields (command= is OSMP,
    ACTION= is Sberbank Online) since the system may be unknown."""
    log.error("payment gateway: database failure (%s); answered retry", type(exc).__name__)
    if "command" in params or "txn_id" in params:
        return Answer(200, osmp.temporary_error(params))
    if "ACTION" in params:
        return Answer(200, sberbank.temporary_error(params))
    return Answer(503, "Temporary error, retry later\n", "text/plain; charset=utf-8")
