"""The tariff schedule of an account: changes now and planned ones.

DESIGN §6: the day of a tariff change belongs to the new tariff; planned
changes apply at 00:00 of their date unless a time is given.  A change of
tariff never interrupts service: no block flag is touched, only the
account's `updated_at` is bumped so the agents refresh speed and pool.
Every change, planned or done, is a TariffChange row: `at` is when it
takes effect (UTC), `applied_at` when it was applied, `cancelled_at` when a
planned one was withdrawn.
"""

from __future__ import annotations

import datetime as dt

from lanbill.actor import actor_of, job
from lanbill.billing import rent
from lanbill.billing.billed_days import today_billed
from lanbill.clock import now_utc, to_utc, today
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Account, Tariff, TariffChange
from lanbill.staff import audit


def _tariff(value) -> Tariff:
    tariff = value if isinstance(value, Tariff) else Tariff.get_or_none(Tariff.id == value)
    if tariff is None:
        raise ValidationError(N_("No such tariff."), fields={"tariff_id": N_("No such tariff.")})
    if tariff.archived:
        raise ValidationError(N_("The tariff is archived."), fields={"tariff_id": N_("The tariff is archived.")})
    return tariff


def _live(account) -> Account:
    found = Account.get_or_none(Account.id == (account.id if isinstance(account, Account) else account))
    if found is None:
        raise NotFound(N_("Account not found."))
    if found.deleted:
        raise Conflict(N_("The account is deleted."))
    return found


def parse_when(value) -> dt.datetime | None:
    """`at` as the API and forms give it → naive UTC, or None for "now".

    A date ("2026-12-01") means 00:00 local of that date; a naive date-time
    is local wall-clock time; an aware one is converted."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                value = dt.date.fromisoformat(text)
            else:
                value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(N_("Not a date or time."), fields={"at": N_("Not a date or time.")}) from None
    if isinstance(value, dt.datetime):
        return to_utc(value)
    if isinstance(value, dt.date):
        return to_utc(dt.datetime.combine(value, dt.time()))
    raise ValidationError(N_("Not a date or time."), fields={"at": N_("Not a date or time.")})


def change_tariff_now(account: Account, tariff: Tariff, *, actor) -> TariffChange:
    """Switch the account to `tariff` at once and record it as applied;
    today belongs to the new tariff, the old one is closed with the days
    before it (billing.rent does the money at once)."""
    tariff = _tariff(tariff)
    with transaction():
        current = _live(account)
        now = now_utc()
        change = TariffChange.create(
            account=current.id, tariff=tariff.id, previous_tariff=current.tariff_id,
            at=now, applied_at=now, actor=actor_of(actor).label,
        )
        Account.update(tariff=tariff.id, updated_at=now).where(Account.id == current.id).execute()
        audit.record(actor, "account.tariff", "account", current.id,
                     before={"tariff": current.tariff_id}, after={"tariff": tariff.id})
        _bill_now(current)
    return change


def plan_change(account, tariff, at, *, actor) -> TariffChange:
    """Plan a change for `at` (a date: 00:00 local of it; a date-time: that
    moment).  A moment not in the future is a change now."""
    tariff = _tariff(tariff)
    when = parse_when(at)
    account = _live(account)
    if when is None or when <= now_utc():
        return change_tariff_now(account, tariff, actor=actor)
    with transaction():
        change = TariffChange.create(account=account.id, tariff=tariff.id, at=when,
                                     actor=actor_of(actor).label)
        audit.record(actor, "account.tariff_planned", "account", account.id,
                     after={"tariff": tariff.id, "at": when.isoformat()})
    return change


def cancel_change(change, *, actor) -> TariffChange:
    """Withdraw a planned change that has not been applied."""
    with transaction():
        found = TariffChange.get_or_none(TariffChange.id == (change.id if isinstance(change, TariffChange) else change))
        if found is None:
            raise NotFound(N_("Tariff change not found."))
        if found.applied_at is not None:
            raise Conflict(N_("The tariff change has already been applied."))
        if found.cancelled_at is None:
            found.cancelled_at = now_utc()
            found.save(only=[TariffChange.cancelled_at])
            audit.record(actor, "account.tariff_cancelled", "account", found.account_id,
                         after={"change": found.id})
    return found


def apply_due(now: dt.datetime | None = None) -> int:
    """Apply every planned change whose moment has come (the worker calls
    this every few minutes and at midnight).  The change keeps its planned
    `at`, so the days from then on belong to the new tariff even when the
    worker applies it late.  Returns the number applied."""
    now = now or now_utc()
    due = (
        TariffChange.select()
        .where(TariffChange.applied_at.is_null(True) & TariffChange.cancelled_at.is_null(True)
               & (TariffChange.at <= now))
        .order_by(TariffChange.at, TariffChange.id)
    )
    applied = 0
    for change in due:
        with transaction():
            account = Account.get_or_none(Account.id == change.account_id)
            if account is None or account.deleted:
                TariffChange.update(cancelled_at=now).where(TariffChange.id == change.id).execute()
                continue
            latest = (
                TariffChange.select()
                .where((TariffChange.account == account.id) & TariffChange.applied_at.is_null(False)
                       & TariffChange.cancelled_at.is_null(True))
                .order_by(TariffChange.at.desc(), TariffChange.id.desc())
                .first()
            )
            previous = account.tariff_id
            if latest is not None and latest.at <= change.at:
                previous = latest.tariff_id
            TariffChange.update(applied_at=now, previous_tariff=previous).where(TariffChange.id == change.id).execute()
            if latest is None or latest.at <= change.at:
                # the account's tariff is the one of its latest change by `at`
                Account.update(tariff=change.tariff_id, updated_at=now_utc()).where(
                    Account.id == account.id).execute()
            audit.record(job("tariff_schedule"), "account.tariff", "account", account.id,
                         before={"tariff": previous}, after={"tariff": change.tariff_id})
            applied += 1
    return applied


def history(account) -> list[TariffChange]:
    """Planned and done changes, newest first."""
    account_id = account.id if isinstance(account, Account) else account
    return list(TariffChange.select().where(TariffChange.account == account_id)
                .order_by(TariffChange.at.desc(), TariffChange.id.desc()))


def _bill_now(account: Account) -> None:
    """Charge the change at once when today has already been billed; on a
    day not yet billed, the run will do it with the rest."""
    if today_billed():
        rent.bill_account(account, today())
