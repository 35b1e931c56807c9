"""Autopayment from a saved ЮKassa payment method (DESIGN §10 "pay
online", §11): the subscriber's settings and the worker's charging run.

Rules:
- A card is saved only by a successful "Pay online" payment the subscriber
  asked to save it with; only ЮKassa's id of the method is stored.
- Autopayment charges the saved method `days_before` days before the
  monthly charge (00:00 of the 1st, DESIGN §6) when the available funds
  do not cover the next month: the shortfall, or the fixed amount the
  subscriber chose.  Once per period: a charge that succeeded (or is still
  being processed) is not repeated for that month.
- A charge that fails (declined, or ЮKassa unreachable) is retried once,
  at the next run of the job; when the retry fails too, the subscriber is
  told (events.autopayment_failed) and nothing more is tried that month.
- The day before charging (or at the first run inside the window), the
  subscriber is told once that the charge is coming
  (events.autopayment_upcoming).
- Switching autopayment off or removing the card takes effect at once: a
  run that starts afterwards charges nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from lanbill import events
from lanbill.clock import now_utc, today
from lanbill.db import transaction
from lanbill.errors import N_, NotFound, ValidationError
from lanbill.models import Agreement
from lanbill.models.online_payments import AutoPayment, OnlinePayment
from lanbill.models.paysys import PaymentSystem
from lanbill.money import MoneyError, parse_money
from lanbill.paysys import systems, yookassa
from lanbill.staff import audit

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2  # the charge and its one retry


def autopayment_of(agreement: Agreement) -> AutoPayment | None:
    """The agreement's saved method and autopayment settings, if a card is saved."""
    found = AutoPayment.get_or_none(AutoPayment.agreement == agreement.id)
    return found if found is not None and found.method_id else None


def set_autopayment(agreement: Agreement, enabled: bool, *, actor, fixed_amount=None) -> AutoPayment:
    """Switch autopayment on or off; `fixed_amount` (empty: the shortfall)
    is what each charge takes.  Needs a saved card."""
    current = autopayment_of(agreement)
    if current is None:
        raise NotFound(N_("No card is saved for this agreement."))
    amount = None
    if fixed_amount not in (None, ""):
        try:
            amount = parse_money(fixed_amount, allow_negative=False, allow_zero=False)
        except MoneyError as exc:
            raise ValidationError(exc.message, fields={"fixed_amount": exc.message}) from None
        system = PaymentSystem.get_by_id(current.payment_system_id)
        if systems.amount_problem(system, amount):
            raise ValidationError(N_("The amount is outside what this payment system takes."),
                                  fields={"fixed_amount": N_("Out of range.")})
    with transaction():
        AutoPayment.update(enabled=bool(enabled), fixed_amount=amount, updated_at=now_utc(),
                           version=AutoPayment.version + 1).where(AutoPayment.id == current.id).execute()
        audit.record(actor, "autopayment.on" if enabled else "autopayment.off", "agreement", agreement.id,
                     after={"fixed_amount": None if amount is None else str(amount)})
    return AutoPayment.get_by_id(current.id)


def remove_card(agreement: Agreement, *, actor) -> None:
    """Forget the saved method: autopayment stops at once."""
    current = AutoPayment.get_or_none(AutoPayment.agreement == agreement.id)
    if current is None or not current.method_id:
        return
    with transaction():
        AutoPayment.update(method_id="", enabled=False, updated_at=now_utc(),
                           version=AutoPayment.version + 1).where(AutoPayment.id == current.id).execute()
        audit.record(actor, "autopayment.card_removed", "agreement", agreement.id)


def next_charge_date(day: dt.date) -> dt.date:
    """The next monthly charge: the 1st of the next month."""
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass
class RunResult:
    charged: int = 0
    failed: int = 0
    told: int = 0
    noticed: int = 0
    pending: int = 0
    errors: list = field(default_factory=list)

    def summary(self) -> dict:
        return {"charged": self.charged, "failed": self.failed, "told": self.told, "noticed": self.noticed,
                "pending": self.pending, "errors": len(self.errors)}


def run_autopayments(*, day: dt.date | None = None) -> RunResult:
    """One run of the job (see the module's rules); safe to run as often
    as wanted — every decision is recorded in OnlinePayment rows."""
    day = day or today()
    charge_on = next_charge_date(day)
    period = charge_on.strftime("%Y-%m")
    result = RunResult()
    candidates = (AutoPayment.select().where((AutoPayment.enabled == True) & (AutoPayment.method_id != ""))  # noqa: E712
                  .order_by(AutoPayment.id))
    for settings in list(candidates):
        try:
            _run_one(settings, day, charge_on, period, result)
        except yookassa.ProviderUnavailable as exc:  # counted; the next run tries again
            result.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - one agreement's trouble must not stop the others
            log.exception("autopayment of agreement %s failed", settings.agreement_id)
            result.errors.append(type(exc).__name__)
    return result


def _run_one(settings: AutoPayment, day: dt.date, charge_on: dt.date, period: str, result: RunResult) -> None:
    system = PaymentSystem.get_by_id(settings.payment_system_id)
    if not system.enabled:
        return
    first_day = charge_on - dt.timedelta(days=settings.days_before)
    if day < first_day - dt.timedelta(days=1):
        return
    attempts = list(OnlinePayment.select().where(
        (OnlinePayment.agreement == settings.agreement_id) & (OnlinePayment.purpose == "autopay")
        & (OnlinePayment.period == period)).order_by(OnlinePayment.id))
    for attempt in attempts:
        if attempt.status in ("pending", "waiting_for_capture"):
            attempt = yookassa.refresh(attempt)
        if attempt.status == "succeeded":
            return
        if attempt.status in ("pending", "waiting_for_capture"):
            result.pending += 1
            return
    if len(attempts) >= MAX_ATTEMPTS:
        return
    agreement = Agreement.get_by_id(settings.agreement_id)
    shortfall = systems.next_period_shortfall(agreement)
    if shortfall <= 0:
        return
    amount = settings.fixed_amount or shortfall
    if system.min_amount is not None and amount < system.min_amount:
        amount = system.min_amount  # ЮKassa and the system take no less
    if day < first_day:
        if settings.noticed_period != period:
            AutoPayment.update(noticed_period=period).where(AutoPayment.id == settings.id).execute()
            events.autopayment_upcoming.send(agreement=agreement, amount=amount, charge_on=first_day)
            result.noticed += 1
        return
    online = yookassa.charge_saved_method(system, agreement, amount, settings.method_id, period=period)
    if online.status == "succeeded":
        result.charged += 1
        return
    if online.status in ("pending", "waiting_for_capture"):
        result.pending += 1
        return
    result.failed += 1
    if len(attempts) + 1 >= MAX_ATTEMPTS:
        # TODO(notifications): a listener of autopayment_failed tells the
        # subscriber by e-mail/SMS to pay by hand.
        events.autopayment_failed.send(agreement=agreement, online_payment=online, reason=online.error or online.status)
        result.told += 1
