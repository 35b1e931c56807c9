"""Account states and blocks (DESIGN §5, seed 002 «Блокировки»).

An account carries block flags; its shown state is the set flag of highest
priority: balance > admin > traffic > user, then off, else active — the
order is defined once, in models.accounts (BLOCK_KINDS, state_from_flags).
Every transition is one `AccountStateChange` row (who, when, why); those
rows, in id order, are also what the agents read to push a change to the
NAS (CoA/Disconnect), so nothing else needs publishing.  A transition a
person makes (staff on a screen or through the API, a subscriber in the
cabinet) is also an audit row: who, from which address, and the reason.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from decimal import Decimal

from lanbill import events
from lanbill.actor import SYSTEM, actor_of
from lanbill.clock import now_utc
from lanbill.db import database, transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Account, AccountStateChange, Agreement
from lanbill.models.accounts import FLAG_FIELDS, state_from_flags
from lanbill.staff import audit

# The instant a billing run bills for (00:00 local of the day it charges).
# A block or lift caused by the run's own charges is recorded at that
# instant, not at the wall-clock moment the job happened to run: DESIGN §6
# counts a day in its state at 00:00, so a job started at 00:03 (or a
# catch-up days later) must leave the same history as a punctual one.
_stamp: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("lanbill_block_stamp", default=None)


@contextlib.contextmanager
def stamped_at(instant: dt.datetime | None):
    """Record the state changes made inside this block at `instant`
    (naive UTC) instead of now.  Used by the billing run only."""
    token = _stamp.set(instant)
    try:
        yield
    finally:
        _stamp.reset(token)


def current_flags(account: Account) -> dict:
    return {flag: bool(getattr(account, field)) for flag, field in FLAG_FIELDS.items()}


def flags_at(account: Account, instant: dt.datetime, changes=None) -> dict:
    """The block flags the account had at `instant` (naive UTC), answered
    from its AccountStateChange history.

    Every row is a real toggle of one flag (set_flag records nothing when
    the value does not change), so a flag's value at `instant` is the value
    before the first row after `instant`, or the current value when there is
    none.  Reading backwards from the current flags this way stays right
    even when the billing run recorded a change at its billing instant after
    a later wall-clock change.  `changes`, if given, are the account's rows
    with `at > instant` as (at, id, flag, action) — the batch form.
    """
    flags = current_flags(account)
    if changes is None:
        changes = (
            AccountStateChange.select(
                AccountStateChange.at, AccountStateChange.id, AccountStateChange.flag, AccountStateChange.action
            )
            .where((AccountStateChange.account == account.id) & (AccountStateChange.at > instant))
            .tuples()
        )
    first = {}
    for at, row_id, flag, action in changes:
        if at <= instant:
            continue
        if flag not in first or (at, row_id) < first[flag][0]:
            first[flag] = ((at, row_id), action)
    for flag, (_, action) in first.items():
        flags[flag] = action == "lift"
    return flags


def state_at(account: Account, instant: dt.datetime, changes=None) -> str:
    """The shown state at `instant` (naive UTC), from the history — the
    rule "a day is counted in its state at 00:00" (DESIGN §6) asks this with
    clock.midnight_utc(day), so late and catch-up runs agree with punctual
    ones."""
    return state_from_flags(flags_at(account, instant, changes))


def available_funds(agreement: Agreement) -> Decimal:
    """Balance + credit limit + open promised payments (DESIGN §5)."""
    return agreement.balance + agreement.credit_limit + agreement.promised_amount


def set_flag(account: Account, flag: str, value: bool, *, actor=None, reason: str = "") -> bool:
    """Set or clear one flag, recompute the state, record the transition.

    Returns False when the flag already had that value (nothing recorded).
    This is the mechanism; the rules of who may do what are in the public
    functions below.
    """
    field = FLAG_FIELDS[flag]
    who = actor_of(actor)
    with transaction():
        account = Account.get_by_id(account.id)  # fresh flags inside the transaction
        if bool(getattr(account, field)) == value:
            return False
        before = account.state
        setattr(account, field, value)
        account.state = account.compute_state()
        now = now_utc()
        at = _stamp.get() or now
        if account.state != before:
            account.state_changed_at = now
        account.updated_at = now
        account.save(
            only=[
                getattr(Account, field),
                Account.state,
                Account.state_changed_at,
                Account.updated_at,
            ]
        )
        AccountStateChange.create(
            account=account.id,
            at=at,
            flag=flag,
            action="set" if value else "lift",
            state_before=before,
            state_after=account.state,
            reason=reason,
            actor=who.label,
        )
        if value and flag != "off":
            events.account_blocked.send(account=account, kind=flag)
        if is_person(who):
            audit.record(who, "account.block" if value else "account.unblock", "account", account.id,
                         before={"state": before},
                         after={"state": account.state, "block": flag, "reason": reason})
    return True


def is_person(who) -> bool:
    """Whether the actor is a person (staff, an API token's manager, a
    subscriber), not the billing run or another job: a person's changes go
    to the audit log as well as to the account's history."""
    return who.is_staff or who.manager_id is not None or who.label.startswith("subscriber:")


def block_by_staff(account: Account, *, actor, reason: str) -> bool:
    """Staff block (`Adm`) with a reason."""
    if not (reason or "").strip():
        raise ValidationError(N_("Give a reason for the block."), fields={"reason": N_("Required.")})
    _refuse_deleted(account)
    return set_flag(account, "admin", True, actor=actor, reason=reason.strip())


def unblock_by_staff(account: Account, *, actor, reason: str = "") -> bool:
    return set_flag(account, "admin", False, actor=actor, reason=reason)


def set_user_block(account: Account, value: bool, *, actor, reason: str = "") -> bool:
    """The subscriber's own block (cabinet); it only stops access."""
    _refuse_deleted(account)
    return set_flag(account, "user", value, actor=actor, reason=reason)


def set_block(account: Account, kind: str, *, actor, reason: str = "") -> bool:
    """Set a block by kind, as the API and the admin screens ask for it.

    The balance and traffic blocks belong to the system and cannot be set
    by hand."""
    if kind == "admin":
        return block_by_staff(account, actor=actor, reason=reason)
    if kind == "user":
        return set_user_block(account, True, actor=actor, reason=reason)
    raise ValidationError(
        N_("A block of kind %(kind)s is set by the system, not by hand."),
        fields={"kind": N_("Only admin and user blocks can be set by hand.")},
        kind=kind,
    )


def lift_block(account: Account, kind: str, *, actor, reason: str = "") -> bool:
    """Lift a block by kind.  A balance block is lifted only by the funds
    becoming ≥ 0 (DESIGN §5): staff cannot lift it by hand."""
    if kind == "admin":
        return unblock_by_staff(account, actor=actor, reason=reason)
    if kind == "user":
        return set_user_block(account, False, actor=actor, reason=reason)
    if kind == "balance":
        raise Conflict(N_("A balance block is lifted only by a payment, a credit or a promised payment."))
    if kind == "traffic":
        return set_flag(account, "traffic", False, actor=actor, reason=reason)
    raise ValidationError(N_("Unknown block kind %(kind)s."), kind=kind)


def evaluate_agreement(agreement_id: int, *, actor=SYSTEM) -> int:
    """Set or lift the balance block on every live account of the agreement
    so that it matches "available funds < 0".  Returns the number changed."""
    agreement = Agreement.get_by_id(agreement_id)
    should_block = available_funds(agreement) < 0
    changed = 0
    # Only the agreement in SQL (the `deleted` index must not be chosen over
    # it: that scans every account); the rest is checked here.
    accounts = Account.select().where(Account.agreement == agreement_id)
    for account in accounts:
        if account.deleted or bool(account.blocked_balance) == should_block:
            continue
        reason = N_("Available funds below zero") if should_block else N_("Available funds back to zero or above")
        if set_flag(account, "balance", should_block, actor=actor, reason=reason):
            changed += 1
    return changed


def balance_moved(agreement_id: int, amount: Decimal, agreement: Agreement | None = None) -> None:
    """Called by the ledger after every balance change, in its transaction,
    with the agreement's money columns as they are after the change (or
    none: they are read here).

    Only a move that starts or ends below zero can change a balance block,
    so the common case (a charge that leaves funds positive) touches no
    account.
    """
    if agreement is None:
        agreement = Agreement.get_by_id(agreement_id)
    after = available_funds(agreement)
    before = after - amount
    if before < 0 or after < 0:
        evaluate_agreement(agreement_id)
    if agreement.promise_refused_until_repaid and agreement.balance + agreement.credit_limit >= 0:
        # seed 002 «Обещанный платеж»: promises are refused until the debt is repaid.
        Agreement.update(promise_refused_until_repaid=False).where(Agreement.id == agreement_id).execute()


def set_flag_many(account_ids, flag: str, value: bool, *, actor=None, reason: str = "") -> int:
    """`set_flag` for many accounts at once (the billing run): the same
    rows and fields — one AccountStateChange per real transition, state
    recomputed from all flags, `updated_at` bumped — in a few statements.
    Returns the number of accounts changed."""
    field = getattr(Account, FLAG_FIELDS[flag])
    who = actor_of(actor)
    ids = list(account_ids)
    changed = 0
    with transaction():
        now = now_utc()
        at = _stamp.get() or now
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            query = Account.select(
                Account.id, Account.state, *[getattr(Account, f) for f in FLAG_FIELDS.values()]
            ).where(Account.id.in_(chunk) & (field != value)).tuples()
            by_state: dict[tuple, list[int]] = {}
            history = []
            for account_id, before, *values in query:
                flags = dict(zip(FLAG_FIELDS, map(bool, values), strict=True))
                flags[flag] = value
                after = state_from_flags(flags)
                by_state.setdefault((after, after != before), []).append(account_id)
                history.append({"account": account_id, "at": at, "flag": flag, "action": "set" if value else "lift",
                                "state_before": before, "state_after": after, "reason": reason, "actor": who.label})
            for (after, moved), members in by_state.items():
                update = {field: value, Account.state: after, Account.updated_at: now}
                if moved:
                    update[Account.state_changed_at] = now
                Account.update(update).where(Account.id.in_(members)).execute()
            if history:
                AccountStateChange.insert_many(history).execute()
                if value and flag != "off" and events.account_blocked.receivers:
                    for account in Account.select().where(Account.id.in_([h["account"] for h in history])):
                        events.account_blocked.send(account=account, kind=flag)
            changed += len(history)
    return changed


_FUNDS_SQL = ('SELECT "id", "balance", "credit_limit", "promised_amount", "promise_refused_until_repaid" '
              'FROM "agreement" WHERE "id" IN ({ids})')


def _funds_of(agreement_ids: list[int]) -> list[Agreement]:
    """The money columns of these agreements (fixed SQL: Peewee building
    the select cost more than running it, on every payment of a batch)."""
    sql = _FUNDS_SQL.format(ids=", ".join([database.param] * len(agreement_ids)))
    money = (Agreement.balance.python_value, Agreement.credit_limit.python_value,
             Agreement.promised_amount.python_value)
    return [Agreement(id=row[0], balance=money[0](row[1]), credit_limit=money[1](row[2]),
                      promised_amount=money[2](row[3]), promise_refused_until_repaid=bool(row[4]))
            for row in database.execute_sql(sql, agreement_ids).fetchall()]


def balances_moved(moves: dict, stamps: dict | None = None) -> None:
    """`balance_moved` for many agreements at once (the billing run's bulk
    posting): set or lift the balance block of every live account whose
    agreement's available funds are now on the other side of zero, and
    clear the promise refusal of agreements whose debt is repaid.
    `moves` maps agreement id → amount moved; `stamps` an agreement id to
    the instant its changes are recorded at."""
    ids = sorted(a for a, amount in moves.items() if amount)
    to_set: dict = {}
    to_lift: dict = {}
    repaid = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        crossing = {}
        for agreement in _funds_of(chunk):
            after = available_funds(agreement)
            before = after - moves[agreement.id]
            if before < 0 or after < 0:
                crossing[agreement.id] = after < 0
            if agreement.promise_refused_until_repaid and agreement.balance + agreement.credit_limit >= 0:
                repaid.append(agreement.id)
        if not crossing:
            continue
        accounts = Account.select(Account.id, Account.agreement, Account.blocked_balance, Account.deleted).where(
            Account.agreement.in_(list(crossing))
        ).tuples()
        for account_id, agreement_id, blocked, deleted in accounts:
            if deleted:
                continue
            should = crossing[agreement_id]
            if bool(blocked) != should:
                stamp = (stamps or {}).get(agreement_id)
                (to_set if should else to_lift).setdefault(stamp, []).append(account_id)
    for value, groups in ((True, to_set), (False, to_lift)):
        reason = N_("Available funds below zero") if value else N_("Available funds back to zero or above")
        for stamp, members in groups.items():
            if stamp is None:
                set_flag_many(members, "balance", value, actor=SYSTEM, reason=reason)
            else:
                with stamped_at(stamp):
                    set_flag_many(members, "balance", value, actor=SYSTEM, reason=reason)
    if repaid:
        Agreement.update(promise_refused_until_repaid=False).where(Agreement.id.in_(repaid)).execute()


def _refuse_deleted(account: Account) -> None:
    if account.deleted:
        raise Conflict(N_("The account is deleted."))
