"""The OSMP/QIWI-style check/pay provider protocol (DOMAIN-RULES §3.1), the
reference protocol many Russian aggregators and banks speak: request
fields in, XML answer out.  No web words here; lanbill.pay serves it.

Request (GET or POST fields):
  command=check&txn_id=…&account=…&sum=10.45
  command=pay&txn_id=…&txn_date=YYYYMMDDHHMMSS&account=…&sum=10.45
Answer (text/xml, UTF-8): <response> with osmp_txn_id, prv_txn and sum
(pay only), result, comment.

Result codes we answer, and when:
  0    OK; also a repeated pay of an already booked txn_id, with the same
       prv_txn (never booked twice — DOMAIN-RULES §3.8)
  1    temporary error, retry later: the database failed (the web layer
       answers it through temporary_error)
  4    the account is not an agreement number (or its check digit is wrong)
  5    no such agreement
  7    payment prohibited by the provider: the payment system is switched off
  8    payment prohibited for technical reasons: the agreement is not in roubles
  79   the agreement is closed
  90   payment not finished: never answered — a pay is booked or not, in
       one transaction, so no payment is ever half-done
  241  sum below the system's smallest amount (or zero)
  242  sum above the system's largest amount
  243  cannot check the account state: the number is held by agreements of
       several operators and the system has no operator to choose
  300  other error: a malformed command, txn_id, sum or txn_date; the
       same txn_id repeated with another sum or account (refused and
       alerted); access denied (wrong address or credentials)
The [INF] meanings of 7/8/79/90/241–243 follow DOMAIN-RULES' table (the
QIWI provider specification cited by Ubilling); 0/1/4/5/300 and the
check digit were checked against NoDeny's qiwi.pl.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.sax.saxutils import escape

from lanbill.errors import Conflict, ValidationError
from lanbill.models.paysys import PaymentSystem
from lanbill.paysys import systems

TXN_ID = re.compile(r"^\d{1,20}$")
SUM = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
TXN_DATE = re.compile(r"^\d{14}$")

OK, TEMPORARY, BAD_ACCOUNT, NO_ACCOUNT, PROHIBITED, TECHNICAL, INACTIVE = 0, 1, 4, 5, 7, 8, 79
NOT_FINISHED, TOO_SMALL, TOO_LARGE, CANNOT_CHECK, OTHER = 90, 241, 242, 243, 300

COMMENTS = {
    OK: "OK",
    TEMPORARY: "Temporary error, retry later",
    BAD_ACCOUNT: "Wrong account format",
    NO_ACCOUNT: "Account not found",
    PROHIBITED: "Payments are not accepted",
    TECHNICAL: "Payment prohibited for technical reasons",
    INACTIVE: "Account is not active",
    NOT_FINISHED: "Payment not finished",
    TOO_SMALL: "Sum too small",
    TOO_LARGE: "Sum too large",
    CANNOT_CHECK: "Cannot check the account state",
    OTHER: "Error",
}
FIND_PROBLEMS = {"format": BAD_ACCOUNT, "not_found": NO_ACCOUNT, "ambiguous": CANNOT_CHECK, "closed": INACTIVE}


def answer(txn_id: str, result: int, comment: str | None = None, *, prv_txn=None, amount=None) -> str:
    """The XML answer; prv_txn and sum only where given (a pay)."""
    safe_txn = txn_id if TXN_ID.match(txn_id or "") else "0"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<response>", f"  <osmp_txn_id>{safe_txn}</osmp_txn_id>"]
    if prv_txn is not None:
        lines.append(f"  <prv_txn>{int(prv_txn)}</prv_txn>")
    if amount is not None:
        lines.append(f"  <sum>{Decimal(amount):.2f}</sum>")
    lines += [f"  <result>{int(result)}</result>",
              f"  <comment>{escape(comment or COMMENTS.get(result, 'Error'))}</comment>", "</response>", ""]
    return "\n".join(lines)


def temporary_error(params: dict) -> str:
    """Result 1: the provider retries later (a database failure)."""
    return answer(str(params.get("txn_id") or ""), TEMPORARY)


def access_denied(params: dict) -> str:
    """Result 300 for a request from a wrong address or with wrong credentials."""
    return answer(str(params.get("txn_id") or ""), OTHER, "Access denied")


def _parse_date(text: str) -> dt.datetime | None:
    if not TXN_DATE.match(text or ""):
        return None
    try:  # by hand: strptime took more time than the rest of the parsing
        return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                           int(text[12:14]))
    except ValueError:
        return None


def handle(system: PaymentSystem, params: dict, *, address: str = "") -> str:
    """Answer one check or pay (see the module's codes).  A pay books
    through systems.book; a database failure propagates to the caller,
    which answers temporary_error."""
    command = str(params.get("command") or "")
    txn_id = str(params.get("txn_id") or "")
    if command not in ("check", "pay"):
        return answer(txn_id, OTHER, "Unknown command")
    if not TXN_ID.match(txn_id):
        return answer(txn_id, OTHER, "Wrong txn_id")
    if not system.enabled:
        return answer(txn_id, PROHIBITED)
    raw_sum = str(params.get("sum") or "")
    amount = None
    if raw_sum or command == "pay":
        if not SUM.match(raw_sum):
            return answer(txn_id, OTHER, "Wrong sum")
        amount = Decimal(raw_sum).quantize(Decimal("0.01"))
    paid_at = None
    if command == "pay":
        paid_at = _parse_date(str(params.get("txn_date") or ""))
        if paid_at is None:
            return answer(txn_id, OTHER, "Wrong txn_date")
    found = systems.find_agreement(system, str(params.get("account") or ""))
    if found.problem:
        return answer(txn_id, FIND_PROBLEMS[found.problem])
    if not systems.in_roubles(found.agreement):
        return answer(txn_id, TECHNICAL)
    if amount is not None:
        problem = systems.amount_problem(system, amount)
        if problem:
            return answer(txn_id, TOO_SMALL if problem == "too_small" else TOO_LARGE)
    if command == "check":
        return answer(txn_id, OK)
    try:
        payment, _created = systems.book_together(system, found.agreement, amount, txn_id, paid_at=paid_at,
                                                  address=address)
    except Conflict:
        return answer(txn_id, OTHER, "Duplicate txn_id with other details")
    except ValidationError:
        return answer(txn_id, OTHER, "Wrong txn_date")
    return answer(txn_id, OK, prv_txn=payment.id, amount=payment.amount)
