"""The tariff change a subscriber makes in the cabinet, from the next
period, among the tariffs staff allow from the current one (DESIGN §10).

Rules written down here:

- Staff mark, on a tariff, which tariffs are selectable from it
  (`set_selectable`); a tariff is never selectable from itself, archived
  tariffs are never offered (they stay marked, in case they come back).
- The next period starts at 00:00 (operator's zone) on the 1st of next
  month — the rent's accounting month (DESIGN §6) — so the current month
  is paid for and charged at the current tariff.
- The subscriber chooses for a live account of their own, a tariff in the
  list for the account's current tariff.  Refused, with the reason: the
  account is disconnected; the tariff is the current one; the tariff is not
  (or no longer) offered; another change is already planned (staff's or
  their own: they cancel their own first).
- The change is a planned TariffChange (billing.tariff_schedule), applied
  by the worker like any planned change.  The subscriber may cancel a
  change they planned themselves while it is not applied; a change staff
  planned is shown but not cancelled from the cabinet.
"""

from __future__ import annotations

import datetime as dt

from lanbill.actor import actor_of
from lanbill.billing import tariff_schedule
from lanbill.billing.periods import month_start
from lanbill.clock import today
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Account, Tariff, TariffChange
from lanbill.models.cabinet import SelectableTariff
from lanbill.staff import audit


def selectable_ids(tariff) -> list[int]:
    """Ids of the tariffs marked as selectable from `tariff` (archived ones
    included: staff see their marks)."""
    tariff_id = tariff.id if isinstance(tariff, Tariff) else int(tariff)
    return [row.target_id for row in SelectableTariff.select(SelectableTariff.target)
            .where(SelectableTariff.tariff == tariff_id).order_by(SelectableTariff.target)]


def set_selectable(tariff: Tariff, target_ids, *, actor) -> list[int]:
    """Staff set the tariffs selectable from `tariff` (replaces the list)."""
    wanted = set()
    for value in target_ids or []:
        try:
            wanted.add(int(value))
        except (TypeError, ValueError):
            raise ValidationError(N_("No such tariff."), fields={"selectable": N_("No such tariff.")}) from None
    wanted.discard(tariff.id)
    found = {t.id for t in Tariff.select(Tariff.id).where(Tariff.id.in_(list(wanted)))} if wanted else set()
    if found != wanted:
        raise ValidationError(N_("No such tariff."), fields={"selectable": N_("No such tariff.")})
    with transaction():
        before = selectable_ids(tariff)
        SelectableTariff.delete().where(SelectableTariff.tariff == tariff.id).execute()
        for target in sorted(wanted):
            SelectableTariff.create(tariff=tariff.id, target=target)
        if sorted(wanted) != before:
            audit.record(actor, "tariff.selectable", "tariff", tariff.id, before={"selectable": before},
                         after={"selectable": sorted(wanted)})
    return sorted(wanted)


def offered(tariff) -> list[Tariff]:
    """What a subscriber on `tariff` may choose: the marked, not archived
    tariffs, by name."""
    tariff_id = tariff.id if isinstance(tariff, Tariff) else int(tariff)
    return list(Tariff.select().join(SelectableTariff, on=(SelectableTariff.target == Tariff.id))
                .where((SelectableTariff.tariff == tariff_id) & (Tariff.archived == False)  # noqa: E712
                       & (Tariff.id != tariff_id))
                .order_by(Tariff.name, Tariff.id))


def next_period_start(day: dt.date | None = None) -> dt.date:
    """The 1st of next month."""
    first = month_start(day or today())
    return (first + dt.timedelta(days=32)).replace(day=1)


def pending_change(account: Account) -> TariffChange | None:
    return (TariffChange.select().where((TariffChange.account == account.id) & TariffChange.applied_at.is_null()
                                        & TariffChange.cancelled_at.is_null())
            .order_by(TariffChange.at, TariffChange.id).first())


def choose(account: Account, tariff_id, *, actor) -> TariffChange:
    """The subscriber plans `tariff_id` for the account from the next
    period (the module's rules).  `account` is already the subscriber's
    own, live account."""
    account = Account.get_by_id(account.id)
    try:
        tariff = Tariff.get_or_none(Tariff.id == int(tariff_id))
    except (TypeError, ValueError):
        tariff = None
    if account.is_off:
        raise Conflict(N_("The account is disconnected; the tariff cannot be changed."))
    if tariff is not None and tariff.id == account.tariff_id:
        raise ValidationError(N_("This is already your tariff."), fields={"tariff": N_("This is already your tariff.")})
    if tariff is None or tariff.id not in {t.id for t in offered(account.tariff_id)}:
        raise ValidationError(N_("This tariff cannot be chosen from your current tariff."),
                              fields={"tariff": N_("Choose a tariff from the list.")})
    pending = pending_change(account)
    if pending is not None:
        raise Conflict(N_("A tariff change is already planned for this account; cancel it first or ask support."))
    return tariff_schedule.plan_change(account, tariff, next_period_start(), actor=actor)


def cancel_own(account: Account, change_id, *, actor) -> TariffChange:
    """The subscriber cancels a change they planned themselves and that is
    not applied yet."""
    try:
        change = TariffChange.get_or_none((TariffChange.id == int(change_id)) & (TariffChange.account == account.id))
    except (TypeError, ValueError):
        change = None
    if change is None:
        raise NotFound(N_("Tariff change not found."))
    if change.applied_at is not None:
        raise Conflict(N_("The tariff change has already been applied."))
    if change.actor != actor_of(actor).label:
        raise Conflict(N_("This change was planned by your provider; ask support to cancel it."))
    return tariff_schedule.cancel_change(change, actor=actor)
