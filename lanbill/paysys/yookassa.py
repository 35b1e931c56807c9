"""ЮKassa (DOMAIN-RULES §3.5): create a payment for the cabinet's "Pay
online" and redirect the subscriber to it, charge a saved payment method
(autopayment), and book a payment only after reading it back from ЮKassa.

Rules:
- Requests go to the system's `api_url` (default ЮKassa's own) with HTTP
  basic shop id : secret key, JSON, a 10-second timeout; every POST carries
  an Idempotence-Key — our online payment's key (a UUID), so a retried
  request never creates a second payment at ЮKassa.
- A payment is created with capture, the amount in roubles, the
  description "Оплата услуг связи по договору <number>", metadata naming
  the agreement and our key, the method (bank card or СБП) and a redirect
  confirmation back to the cabinet; with `save_payment_method` when the
  subscriber asked to save the card.
- A notification is never trusted by itself (it carries no signature): the
  payment is read back with GET {api_url}/payments/{id} and booked only
  when ЮKassa says `succeeded`, the amount and currency are ours and the
  metadata names the same agreement and key.  A contradiction books
  nothing and is logged.  Booking goes through post_payment with ЮKassa's
  payment id as the external id, so a repeated notification books nothing.
- A saved card: only ЮKassa's id of the payment method is stored
  (AutoPayment.method_id), never card data.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
import uuid
from decimal import Decimal

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Agreement
from lanbill.models.online_payments import AutoPayment, OnlinePayment
from lanbill.models.paysys import PaymentSystem
from lanbill.money import MoneyError, parse_money
from lanbill.paysys import systems

log = logging.getLogger(__name__)
TIMEOUT = 10  # seconds per request to ЮKassa


class ProviderUnavailable(Exception):
    """ЮKassa could not be reached or answered an error: try again later."""


def _auth(system: PaymentSystem) -> str:
    shop_id = (system.options or {}).get("shop_id", "")
    token = base64.b64encode(f"{shop_id}:{system.password}".encode()).decode()
    return f"Basic {token}"


def _call(system: PaymentSystem, method: str, path: str, body: dict | None = None,
          idempotence_key: str | None = None) -> dict:
    """One request to ЮKassa; its JSON answer, or ProviderUnavailable
    (the secret key never appears in the error)."""
    url = (system.options or {}).get("api_url", systems.YOOKASSA_API_URL).rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": _auth(system), "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if idempotence_key:
        headers["Idempotence-Key"] = idempotence_key
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - the configured api_url
            return json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as exc:
        log.warning("ЮKassa %s %s answered HTTP %s", method, path.split("/")[1], exc.code)
        raise ProviderUnavailable(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        log.warning("ЮKassa %s %s failed: %s", method, path.split("/")[1], type(exc).__name__)
        raise ProviderUnavailable(type(exc).__name__) from None


def _value(amount: Decimal) -> dict:
    return {"value": f"{Decimal(amount):.2f}", "currency": "RUB"}


def description(agreement: Agreement) -> str:
    return f"Оплата услуг связи по договору {agreement.number}"


def _metadata(online: OnlinePayment, agreement: Agreement) -> dict:
    return {"agreement": agreement.number, "agreement_id": str(agreement.id), "online_payment": online.idempotence_key}


def clean_amount(system: PaymentSystem, amount) -> Decimal:
    """The amount of an online payment: roubles, two decimals, within the
    system's limits."""
    try:
        value = parse_money(amount, allow_negative=False, allow_zero=False)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"amount": exc.message}) from None
    problem = systems.amount_problem(system, value)
    if problem == "too_small":
        raise ValidationError(N_("The amount is below the smallest this payment system takes."),
                              fields={"amount": N_("Too small.")})
    if problem == "too_large":
        raise ValidationError(N_("The amount is above the largest this payment system takes."),
                              fields={"amount": N_("Too large.")})
    return value


def _return_url(template: str, key: str) -> str:
    """The cabinet's return address with our key in place of its last "KEY"."""
    head, marker, tail = template.rpartition("KEY")
    return f"{head}{key}{tail}" if marker else template


def create_payment(system: PaymentSystem, agreement: Agreement, amount, *, method: str, return_url: str,
                   save_method: bool = False) -> OnlinePayment:
    """Create a payment at ЮKassa for the cabinet (see the module's rules)
    — `return_url` names the cabinet's return page with "KEY" where our
    key goes — and return our record with ЮKassa's confirmation URL to redirect the
    subscriber to.  ProviderUnavailable when ЮKassa cannot be reached: the
    record stays `failed` and nothing is booked."""
    systems.require_enabled(system)
    value = clean_amount(system, amount)
    methods = (system.options or {}).get("methods", list(systems.ONLINE_METHODS))
    if method not in methods:
        raise ValidationError(N_("Choose how to pay."), fields={"method": N_("Choose how to pay.")})
    save_method = bool(save_method and method == "bank_card" and (system.options or {}).get("autopay", True))
    online = OnlinePayment.create(payment_system=system.id, agreement=agreement.id,
                                  idempotence_key=str(uuid.uuid4()), amount=value, method=method,
                                  save_method=save_method)
    body = {
        "amount": _value(value),
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": _return_url(return_url, online.idempotence_key)},
        "description": description(agreement),
        "metadata": _metadata(online, agreement),
        "payment_method_data": {"type": method},
    }
    if save_method:
        body["save_payment_method"] = True
    try:
        remote = _call(system, "POST", "/payments", body, idempotence_key=online.idempotence_key)
    except ProviderUnavailable as exc:
        _mark(online, status="failed", error=str(exc))
        raise
    status = _status(remote)
    _mark(online, provider_id=str(remote.get("id") or "") or None,
          status="pending" if status == "succeeded" else status,  # booked only by the read-back
          confirmation_url=str((remote.get("confirmation") or {}).get("confirmation_url") or ""))
    return OnlinePayment.get_by_id(online.id)


def charge_saved_method(system: PaymentSystem, agreement: Agreement, amount: Decimal, method_id: str, *,
                        period: str) -> OnlinePayment:
    """Charge a saved payment method without the subscriber (autopayment)
    and book it once ЮKassa's read-back says it succeeded.  Returns our
    record: `succeeded`, `canceled` (declined), `pending`, or `failed`
    (ЮKassa unreachable)."""
    online = OnlinePayment.create(payment_system=system.id, agreement=agreement.id,
                                  idempotence_key=str(uuid.uuid4()), amount=amount, method="saved",
                                  purpose="autopay", period=period)
    body = {"amount": _value(amount), "capture": True, "payment_method_id": method_id,
            "description": description(agreement), "metadata": _metadata(online, agreement)}
    try:
        remote = _call(system, "POST", "/payments", body, idempotence_key=online.idempotence_key)
    except ProviderUnavailable as exc:
        _mark(online, status="failed", error=str(exc))
        return OnlinePayment.get_by_id(online.id)
    status = _status(remote)
    # "succeeded" is ours to set only once the read-back books it
    _mark(online, provider_id=str(remote.get("id") or "") or None,
          status="pending" if status == "succeeded" else status,
          error=str((remote.get("cancellation_details") or {}).get("reason") or "")[:255])
    online = OnlinePayment.get_by_id(online.id)
    if online.provider_id and status == "succeeded":
        return refresh(online)
    return online


def _status(remote: dict) -> str:
    status = str(remote.get("status") or "")
    return status if status in ("pending", "waiting_for_capture", "succeeded", "canceled") else "failed"


def _mark(online: OnlinePayment, **fields) -> None:
    OnlinePayment.update(updated_at=now_utc(), **fields).where(OnlinePayment.id == online.id).execute()


def refresh(online: OnlinePayment) -> OnlinePayment:
    """Read the payment back from ЮKassa and settle our record: book it
    when it succeeded and matches, mark it canceled when ЮKassa says so.
    ProviderUnavailable when ЮKassa cannot be reached."""
    if online.status == "succeeded" or not online.provider_id:
        return online
    system = PaymentSystem.get_by_id(online.payment_system_id)
    remote = _call(system, "GET", f"/payments/{online.provider_id}")
    _settle(system, online, remote)
    return OnlinePayment.get_by_id(online.id)


def _matches(online: OnlinePayment, agreement: Agreement, remote: dict) -> bool:
    amount = remote.get("amount") or {}
    metadata = remote.get("metadata") or {}
    try:
        value = Decimal(str(amount.get("value")))
    except ArithmeticError:
        return False
    return (str(remote.get("id")) == online.provider_id and value == online.amount
            and amount.get("currency") == "RUB" and metadata.get("online_payment") == online.idempotence_key
            and metadata.get("agreement") == agreement.number)


def _settle(system: PaymentSystem, online: OnlinePayment, remote: dict) -> str:
    status = _status(remote)
    agreement = Agreement.get_by_id(online.agreement_id)
    if status == "canceled":
        reason = str((remote.get("cancellation_details") or {}).get("reason") or "")[:255]
        _mark(online, status="canceled", error=reason)
        return "canceled"
    if status != "succeeded":
        _mark(online, status=status)
        return status
    if not _matches(online, agreement, remote):
        log.warning("ЮKassa payment %s: the read-back does not match our record; not booked", online.provider_id)
        return "mismatch"
    with transaction():
        try:
            payment, _created = systems.book(system, agreement, online.amount, online.provider_id,
                                             method="card", comment=description(agreement))
        except Conflict:
            return "mismatch"
        _mark(online, status="succeeded", payment_id=payment.id)
        method = remote.get("payment_method") or {}
        if online.save_method and method.get("saved") and method.get("id"):
            remember_method(system, agreement, str(method["id"]))
    return "booked"


def handle_notification(system: PaymentSystem, body: dict) -> str:
    """A notification (DOMAIN-RULES §3.5): find our record by ЮKassa's id
    in `object.id`, read the payment back and settle it.  Answers what was
    done: booked, canceled, pending, mismatch (not booked), unknown (not
    ours), ignored (another event); ProviderUnavailable → retry later."""
    if body.get("type") != "notification" or not str(body.get("event") or "").startswith("payment."):
        return "ignored"
    provider_id = str((body.get("object") or {}).get("id") or "")
    online = OnlinePayment.get_or_none((OnlinePayment.provider_id == provider_id)
                                       & (OnlinePayment.payment_system == system.id)) if provider_id else None
    if online is None:
        return "unknown"
    if online.status == "succeeded":
        return "booked"
    remote = _call(system, "GET", f"/payments/{provider_id}")
    return _settle(system, online, remote)


# --- saved payment method ------------------------------------------------------------


def remember_method(system: PaymentSystem, agreement: Agreement, method_id: str) -> AutoPayment:
    """Keep ЮKassa's id of a saved card for the agreement (the only card
    data stored); autopayment stays as the subscriber set it."""
    found = AutoPayment.get_or_none(AutoPayment.agreement == agreement.id)
    if found is None:
        return AutoPayment.create(agreement=agreement.id, payment_system=system.id, method_id=method_id,
                                  days_before=int((system.options or {}).get("autopay_days_before", 3)))
    AutoPayment.update(method_id=method_id, payment_system=system.id, updated_at=now_utc(),
                       version=AutoPayment.version + 1).where(AutoPayment.id == found.id).execute()
    return AutoPayment.get_by_id(found.id)
