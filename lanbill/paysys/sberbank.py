"""Sberbank Online "check/payment" by agreement number (DOMAIN-RULES §3.2,
after igormelz/lanbilling-payment-gateway's SberOnline route): request
fields in, XML answer out.  lanbill.pay serves it.

Request: ACTION=check&ACCOUNT=<agreement>
         ACTION=payment&ACCOUNT=…&AMOUNT=600.00&PAY_ID=<digits>&PAY_DATE=dd.MM.yyyy_HH:mm:ss
Answer: <response> with CODE, MESSAGE and, as they apply, FIO (masked:
"И*** И. П." — the payer sees whose agreement it is without the full
name), BALANCE, REC_SUM (the recommended sum: what the next month needs
beyond the funds), EXT_ID (our payment id), REG_DATE, AMOUNT.

Codes we answer, and when:
  0   success
  1   temporary error, retry: the database failed (temporary_error)
  2   unknown ACTION
  3   no such agreement
  4   ACCOUNT is not an agreement number (or its check digit is wrong)
  5   the agreement is closed
  6   PAY_ID missing or not digits
  7   payment prohibited for technical reasons: the system is switched
      off, the agreement is not in roubles, or access denied (wrong
      address or credentials)
  8   duplicate PAY_ID: the original payment's EXT_ID, AMOUNT and REG_DATE,
      nothing booked (DOMAIN-RULES §3.8)
  9   AMOUNT malformed or zero, or the same PAY_ID with another amount or
      agreement (refused and alerted)
  10  amount below the system's smallest
  11  amount above the system's largest
  12  PAY_DATE malformed
  300 internal error: the number is held by agreements of several
      operators and the system has no operator to choose
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.sax.saxutils import escape

from lanbill.clock import to_local
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Subscriber
from lanbill.models.paysys import PaymentSystem
from lanbill.paysys import systems

AMOUNT = re.compile(r"^\d{1,9}(\.\d{0,2})?$")
PAY_ID = re.compile(r"^\d{1,32}$")
DATE_FORMAT = "%d.%m.%Y_%H:%M:%S"

(OK, TEMPORARY, UNKNOWN_ACTION, NOT_FOUND, BAD_ACCOUNT, INACTIVE, BAD_PAY_ID, PROHIBITED, DUPLICATE,
 BAD_AMOUNT, TOO_SMALL, TOO_LARGE, BAD_DATE, INTERNAL) = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 300

MESSAGES = {
    OK: "Успешно",
    TEMPORARY: "Временная ошибка, повторите запрос позже",
    UNKNOWN_ACTION: "Неизвестный тип запроса",
    NOT_FOUND: "Абонент не найден",
    BAD_ACCOUNT: "Неверный формат номера договора",
    INACTIVE: "Договор не активен",
    BAD_PAY_ID: "Неверный идентификатор платежа",
    PROHIBITED: "Приём платежа запрещён по техническим причинам",
    DUPLICATE: "Платёж уже принят",
    BAD_AMOUNT: "Неверная сумма платежа",
    TOO_SMALL: "Сумма слишком мала",
    TOO_LARGE: "Сумма слишком велика",
    BAD_DATE: "Неверный формат даты",
    INTERNAL: "Внутренняя ошибка",
}
FIND_PROBLEMS = {"format": BAD_ACCOUNT, "not_found": NOT_FOUND, "ambiguous": INTERNAL, "closed": INACTIVE}


def answer(code: int, message: str | None = None, **fields) -> str:
    """The XML answer: CODE, MESSAGE, then the given fields in the
    protocol's order."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<response>", f"  <CODE>{int(code)}</CODE>",
             f"  <MESSAGE>{escape(message or MESSAGES.get(code, ''))}</MESSAGE>"]
    for name in ("FIO", "BALANCE", "REC_SUM", "EXT_ID", "REG_DATE", "AMOUNT"):
        if fields.get(name) is not None:
            lines.append(f"  <{name}>{escape(str(fields[name]))}</{name}>")
    lines += ["</response>", ""]
    return "\n".join(lines)


def temporary_error(params: dict) -> str:
    return answer(TEMPORARY)


def access_denied(params: dict) -> str:
    return answer(PROHIBITED, "Доступ запрещён")


def mask_name(name: str) -> str:
    """"Иванов Иван Петрович" → "И*** И. П.": enough for the payer to
    recognise the agreement, not enough to learn a stranger's name."""
    parts = (name or "").split()
    if not parts:
        return ""
    first = parts[0][0] + "***"
    return " ".join([first, *(f"{p[0]}." for p in parts[1:3])])


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def _reg_date(payment) -> str:
    return to_local(payment.paid_at).strftime(DATE_FORMAT)


def handle(system: PaymentSystem, params: dict, *, address: str = "") -> str:
    """Answer one check or payment (see the module's codes); a database
    failure propagates to the caller, which answers temporary_error."""
    action = str(params.get("ACTION") or "").lower()
    if action not in ("check", "payment"):
        return answer(UNKNOWN_ACTION)
    if not system.enabled:
        return answer(PROHIBITED)
    found = systems.find_agreement(system, str(params.get("ACCOUNT") or ""))
    if found.problem:
        return answer(FIND_PROBLEMS[found.problem])
    agreement = found.agreement
    if not systems.in_roubles(agreement):
        return answer(PROHIBITED)
    if action == "check":
        subscriber = Subscriber.get_by_id(agreement.subscriber_id)
        return answer(OK, FIO=mask_name(subscriber.name), BALANCE=_money(agreement.balance),
                      REC_SUM=_money(systems.next_period_shortfall(agreement)))
    raw_amount = str(params.get("AMOUNT") or "")
    if not AMOUNT.match(raw_amount) or Decimal(raw_amount) <= 0:
        return answer(BAD_AMOUNT)
    amount = Decimal(raw_amount).quantize(Decimal("0.01"))
    pay_id = str(params.get("PAY_ID") or "")
    if not PAY_ID.match(pay_id):
        return answer(BAD_PAY_ID)
    try:
        paid_at = dt.datetime.strptime(str(params.get("PAY_DATE") or ""), DATE_FORMAT)
    except ValueError:
        return answer(BAD_DATE)
    problem = systems.amount_problem(system, amount)
    if problem:
        return answer(TOO_SMALL if problem == "too_small" else TOO_LARGE)
    try:
        payment, created = systems.book_together(system, agreement, amount, pay_id, paid_at=paid_at, address=address)
    except Conflict:
        return answer(BAD_AMOUNT, "Платёж с этим идентификатором уже принят с другими данными")
    except ValidationError:
        return answer(BAD_DATE)
    return answer(OK if created else DUPLICATE, EXT_ID=payment.id, REG_DATE=_reg_date(payment),
                  AMOUNT=_money(payment.amount))
