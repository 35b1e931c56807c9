"""Pre-aggregated report figures: what the money reports read instead of
scanning a year of the ledger and of the payments.

The rule (what the aggregates hold, and why a report is always right):

- A *cell* is what a report splits or filters by: the agreement's
  operator, the tariff of its main account (lanbill.reports.breakdown's
  rule: the live account with the lowest id, else the lowest id; none
  without accounts) and the set of its subscriber's groups.  Every
  agreement is booked under exactly one cell (ReportAgreementCell).
- The aggregates hold every ledger entry with id ≤ the state's
  `ledger_id` and every payment with id ≤ its `payment_id`, each under
  the cell its agreement was booked under: ledger sums per (local month
  of `created_at`, cell) by class, with the number of agreements charged
  for service; payments per (local day of `paid_at`, cell, payment
  system, manager), a payment counting as cancelled when its reversal
  entry's id ≤ `ledger_id`.  Ids, not dates, decide: an entry posted
  late with a past `created_at`, a payment back-dated, a cancellation of
  an old payment all have new ids, so nothing is ever missed.
- A report reads the aggregates and corrects them from the raw rows, as
  of now, for the few agreements that changed since: those with ledger
  entries or payments above the watermarks or cancellations posted
  since, and those the triggers of migration 0105 marked (ReportDirty:
  the subscriber's groups, the agreement's operator, its accounts'
  tariff, agreement or deletion changed).  For each such agreement its
  aggregated figures are taken out of the cell it was booked under and
  its figures from the raw rows are put into its cell of now.  So every
  figure is that of the ledger today, grouped by today's groups, tariffs
  and operators, exactly like a computation from the raw ledger — the
  property tests compare both.
- The worker's `refresh_report_totals` (every 10 minutes) folds those
  corrections into the tables and moves the watermarks up, so the part
  read raw stays a few minutes of activity; `flask reports rebuild`
  recomputes everything (after a change of LANBILL_TIMEZONE the
  aggregates are ignored until rebuilt: months and days are local).
- Without aggregates (a new installation, another time zone) a report
  reads everything raw: right, only slower.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee
from peewee import SQL, Case, fn

from lanbill.clock import local_date_of, midnight_utc, now_utc, zone
from lanbill.db import database, is_sqlite, transaction
from lanbill.models import Account, Agreement, LedgerEntry, Payment, SubscriberGroup
from lanbill.models.agreements import LEDGER_KINDS
from lanbill.models.report_totals import (
    ReportAgreementCell,
    ReportCell,
    ReportDirty,
    ReportLedgerMonth,
    ReportPaymentDay,
    ReportTotalsState,
)
from lanbill.reports.common import (
    CORRECTION_KINDS,
    PAYMENT_KINDS,
    RENT_KINDS,
    REVENUE_KINDS,
    SERVICE_KINDS,
    TRAFFIC_KINDS,
    add_months,
    month_start,
)

LEDGER_CLASSES = {"rent": RENT_KINDS, "services": SERVICE_KINDS, "traffic": TRAFFIC_KINDS,
                  "corrections": CORRECTION_KINDS, "payments": PAYMENT_KINDS}
LEDGER_FIELDS = ("rent", "services", "traffic", "corrections", "payments", "payers")
PAYMENT_FIELDS = ("count", "amount", "cancelled_count", "cancelled_amount")
KIND_INDEX = {kind: i for i, kinds in enumerate(LEDGER_CLASSES.values()) for kind in kinds}
REVENUE = frozenset(REVENUE_KINDS)
BEFORE = "before"  # the bucket of everything before the months asked for
CHUNK = 500
# above this many changed agreements a read scans the changed months instead of probing each agreement
SCAN_OVER = 2000


@dataclass(frozen=True)
class Cell:
    operator: int
    tariff: int | None
    groups: frozenset

    @property
    def groups_text(self) -> str:
        return "," + "".join(f"{g}," for g in sorted(self.groups))

    @classmethod
    def of_row(cls, operator_id, tariff_id, groups_text) -> Cell:
        return cls(operator_id, tariff_id or None, frozenset(int(g) for g in groups_text.split(",") if g))


def zone_name() -> str:
    tz = zone()
    return getattr(tz, "key", None) or str(tz)


def _chunks(values, size=CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


# --- cells ---------------------------------------------------------------------------


def current_cells(agreement_ids=None) -> dict[int, Cell]:
    """agreement id → its cell now, for the given agreements (all when None)."""
    groups_of: dict[int, set] = {}
    main: dict[int, tuple] = {}  # agreement → (deleted, account id, tariff)
    agreements = []

    def load(ids):
        query = Agreement.select(Agreement.id, Agreement.operator, Agreement.subscriber)
        if ids is not None:
            query = query.where(Agreement.id.in_(ids))
        found = list(query.tuples())
        agreements.extend(found)
        accounts = Account.select(Account.agreement, Account.id, Account.deleted, Account.tariff)
        if ids is not None:
            accounts = accounts.where(Account.agreement.in_(ids))
        for agreement_id, account_id, deleted, tariff_id in accounts.tuples():
            rank = (bool(deleted), account_id)
            if agreement_id not in main or rank < main[agreement_id][0]:
                main[agreement_id] = (rank, tariff_id)
        members = SubscriberGroup.select(SubscriberGroup.subscriber, SubscriberGroup.group)
        if ids is not None:
            members = members.where(SubscriberGroup.subscriber.in_({s for _, _, s in found}))
        for subscriber_id, group_id in members.tuples():
            groups_of.setdefault(subscriber_id, set()).add(group_id)

    if agreement_ids is None:
        load(None)
    else:
        for chunk in _chunks(agreement_ids):
            load(chunk)
    return {aid: Cell(operator_id, main[aid][1] if aid in main else None,
                      frozenset(groups_of.get(subscriber_id, ())))
            for aid, operator_id, subscriber_id in agreements}


def stored_cells() -> dict[int, Cell]:
    return {cid: Cell.of_row(op, tariff, groups) for cid, op, tariff, groups in
            ReportCell.select(ReportCell.id, ReportCell.operator_id, ReportCell.tariff_id, ReportCell.groups).tuples()}


def _booked(agreement_ids, cells: dict[int, Cell]) -> dict[int, Cell]:
    out = {}
    for chunk in _chunks(agreement_ids):
        query = ReportAgreementCell.select(ReportAgreementCell.agreement_id, ReportAgreementCell.cell_id).where(
            ReportAgreementCell.agreement_id.in_(chunk))
        out.update({aid: cells[cid] for aid, cid in query.tuples() if cid in cells})
    return out


def _dirty_agreements(upto=None) -> set[int]:
    query = ReportDirty.select(ReportDirty.subscriber_id, ReportDirty.agreement_id)
    if upto is not None:
        query = query.where(ReportDirty.id <= upto)
    subscribers, agreements = set(), set()
    for subscriber_id, agreement_id in query.tuples():
        if subscriber_id is not None:
            subscribers.add(subscriber_id)
        if agreement_id is not None:
            agreements.add(agreement_id)
    for chunk in _chunks(subscribers):
        agreements.update(aid for (aid,) in Agreement.select(Agreement.id).where(
            Agreement.subscriber.in_(chunk)).tuples())
    return agreements


# --- what changed since the watermarks --------------------------------------------------


class Changes:
    """The corrections of the aggregates at watermarks (w, p) to reach
    (w_new, p_new) — None: everything committed now.  `ledger` maps
    (local month, Cell) to the six LEDGER_FIELDS to add (negative: to
    take out); `payments` maps (local day, Cell, system id, gateway,
    method, manager id) to the four PAYMENT_FIELDS; `cells` are the
    agreements' cells of now that were used."""

    def __init__(self, w: int, p: int, w_new, p_new, dirty: set[int], booked_of):
        self.w, self.p, self.w_new, self.p_new = w, p, w_new, p_new
        self.ledger: dict = {}
        self.payments: dict = {}
        self.cells: dict[int, Cell] = {}
        self._collect(dirty, booked_of)

    def _upper(self, field, bound):
        return field <= bound if bound is not None else SQL("1 = 1")

    def _collect(self, dirty, booked_of) -> None:
        w, p, w_new, p_new = self.w, self.p, self.w_new, self.p_new
        # the entries above the watermark, read by the primary key's range (few; a GROUP BY here
        # would make SQLite walk the whole ledger by agreement): the earliest posting per agreement
        # and the payments cancelled since
        since: dict[int, dt.datetime] = {}
        payment_ids = set()
        fresh = (LedgerEntry.select(LedgerEntry.agreement, LedgerEntry.created_at, LedgerEntry.kind,
                                    LedgerEntry.payment_id)
                 .where((LedgerEntry.id > w) & self._upper(LedgerEntry.id, w_new)))
        for aid, at, kind, payment_id in fresh.tuples():
            if isinstance(at, str):
                at = dt.datetime.fromisoformat(at)
            if aid not in since or at < since[aid]:
                since[aid] = at
            if kind == "payment_reversal" and payment_id is not None:
                payment_ids.add(payment_id)
        payments = self._payments(payment_ids, dirty)
        agreements = set(since) | set(dirty) | {row[1] for row in payments}
        if not agreements:
            return
        self.cells = current_cells(agreements)
        booked = booked_of(agreements)
        self._ledger_rows(since, dirty, booked)
        for pid, aid, amount, paid_at, system_id, gateway, method, manager_id, reversal in payments:
            day = local_date_of(paid_at if not isinstance(paid_at, str) else dt.datetime.fromisoformat(paid_at))
            rest = (system_id or 0, gateway or "", method or "", manager_id or 0)
            if pid <= p and aid in booked:
                gone = reversal is not None and reversal <= w
                self._add_payment((day, booked[aid], *rest), amount, gone, -1)
            if (p_new is None or pid <= p_new) and aid in self.cells:
                gone = reversal is not None and (w_new is None or reversal <= w_new)
                self._add_payment((day, self.cells[aid], *rest), amount, gone, 1)

    def _payments(self, reversed_ids: set, dirty: set) -> list:
        columns = (Payment.id, Payment.agreement, Payment.amount, Payment.paid_at, Payment.payment_system_id,
                   Payment.gateway, Payment.method, Payment.manager_id, Payment.reversal_entry)
        rows = {}

        def take(query):
            for row in query.tuples():
                rows[row[0]] = (row[0], row[1], int(Payment.amount.db_value(row[2])), *row[3:])

        take(Payment.select(*columns).where((Payment.id > self.p) & self._upper(Payment.id, self.p_new)))
        for chunk in _chunks(reversed_ids):
            take(Payment.select(*columns).where(Payment.id.in_(chunk)))
        for chunk in _chunks(dirty):
            take(Payment.select(*columns).where(Payment.agreement.in_(chunk)))
        return list(rows.values())

    def _add_payment(self, key, amount: int, cancelled: bool, sign: int) -> None:
        target = self.payments.setdefault(key, [0, 0, 0, 0])
        if cancelled:
            target[2] += sign
            target[3] += sign * amount
        else:
            target[0] += sign
            target[1] += sign * amount

    def _ledger_rows(self, since: dict, dirty: set, booked: dict) -> None:
        """Per (agreement, month): the sums and the "charged" flag of the
        entries at the old watermark and at the new one; months before an
        agreement's first fresh entry are the same at both and skipped."""
        w, w_new = self.w, self.w_new
        fresh = [aid for aid in since if aid not in dirty]
        columns = (LedgerEntry.agreement, LedgerEntry.id, LedgerEntry.kind,
                   fn.COALESCE(LedgerEntry.amount, 0).coerce(False), LedgerEntry.created_at)
        queries = []
        if fresh:
            start = midnight_utc(month_start(local_date_of(min(since[a] for a in fresh))))
            if len(fresh) > SCAN_OVER:
                queries.append(LedgerEntry.select(*columns).where(LedgerEntry.created_at >= start))
            else:
                queries += [LedgerEntry.select(*columns).where(LedgerEntry.agreement.in_(chunk)
                                                                & (LedgerEntry.created_at >= start))
                            for chunk in _chunks(fresh)]
        queries += [LedgerEntry.select(*columns).where(LedgerEntry.agreement.in_(chunk)) for chunk in _chunks(dirty)]
        wanted = set(fresh) | set(dirty)
        month_of = LocalMonths()
        sums: dict = {}
        for query in queries:
            for aid, entry_id, kind, amount, created_at in query.tuples():
                if aid not in wanted or (w_new is not None and entry_id > w_new):
                    continue
                month = month_of(created_at)
                amount = int(amount)
                state = sums.setdefault((aid, month), [[0] * 6, [0] * 6])
                charged = kind in REVENUE and amount < 0
                for i, vector in ((0, state[0]), (1, state[1])):
                    if i == 0 and entry_id > w:
                        continue
                    vector[KIND_INDEX[kind]] += amount
                    if charged:
                        vector[5] = 1
        for (aid, month), (old, new) in sums.items():
            before, after = booked.get(aid), self.cells.get(aid)
            if before is not None:
                self._add_ledger((month, before), old, -1)
            if after is not None:
                self._add_ledger((month, after), new, 1)

    def _add_ledger(self, key, vector, sign: int) -> None:
        target = self.ledger.setdefault(key, [0] * 6)
        for i, value in enumerate(vector):
            target[i] += sign * value


class LocalMonths:
    """The operator's local month of a UTC instant, memoised by the hour
    (an hour that a month bound cuts, in a zone off whole hours, is
    worked out per instant)."""

    def __init__(self):
        self.hours: dict = {}

    def __call__(self, at) -> dt.date:
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        key = (at.year, at.month, at.day, at.hour)
        month = self.hours.get(key)
        if month is None:
            hour = at.replace(minute=0, second=0, microsecond=0)
            first = month_start(local_date_of(hour))
            whole = first == month_start(local_date_of(hour + dt.timedelta(minutes=59, seconds=59.999999)))
            month = self.hours[key] = first if whole else False
        return month if month is not False else month_start(local_date_of(at))


def _state():
    return ReportTotalsState.select().order_by(ReportTotalsState.id).first()


def _snapshot():
    """(state or None when the aggregates are missing or of another zone, cells by id)."""
    state = _state()
    if state is None or state.timezone != zone_name():
        return None, {}
    return state, stored_cells()


def _read(collect):
    """Run `collect(state, cells, changes)` against one consistent view:
    again if a refresh moved the watermarks in between."""
    for _ in range(5):
        state, cells = _snapshot()
        w, p = (state.ledger_id, state.payment_id) if state else (0, 0)
        dirty = _dirty_agreements() if state else set()
        changes = Changes(w, p, None, None, dirty, lambda ids, c=cells: _booked(ids, c))
        result = collect(state, cells, changes)
        after = _state()
        if state is None or (after is not None and (after.ledger_id, after.payment_id) == (w, p)):
            return result
    return result


# --- reading -------------------------------------------------------------------------


def ledger_figures(first: dt.date, last: dt.date) -> dict:
    """{(bucket, Cell): [rent, services, traffic, corrections, payments,
    payers]} in minor units (ledger signs: charges negative) for each
    local month from `first` to `last` (bucket: the month's first day)
    and BEFORE (everything posted before `first`; payers there mean
    nothing).  The figures of the ledger now (see the module's rule)."""
    first, last = month_start(first), month_start(last)

    def bucket(month):
        if month < first:
            return BEFORE
        return month if month <= last else None

    def collect(state, cells, changes):
        out: dict = {}

        def add(key, vector):
            target = out.setdefault(key, [0] * 6)
            for i, value in enumerate(vector):
                target[i] += value

        if state is not None:
            T = ReportLedgerMonth
            sums = [fn.SUM(getattr(T, f)) for f in LEDGER_FIELDS]
            for month, cell_id, *vector in T.select(T.month, T.cell_id, *[getattr(T, f) for f in LEDGER_FIELDS]) \
                    .where((T.month >= first) & (T.month <= last)).tuples():
                if cell_id in cells:
                    add((_date(month), cells[cell_id]), vector)
            for cell_id, *vector in T.select(T.cell_id, *sums).where(T.month < first).group_by(T.cell_id).tuples():
                if cell_id in cells:
                    add((BEFORE, cells[cell_id]), [int(v or 0) for v in vector])
        for (month, cell), vector in changes.ledger.items():
            key = bucket(month)
            if key is not None:
                add((key, cell), vector)
        return {key: vector for key, vector in out.items() if any(vector)}

    return _read(collect)


def payment_figures(first: dt.date, last: dt.date, dims: tuple) -> dict:
    """{(day or None, Cell, system id, gateway, method, manager id): [count,
    amount, cancelled count, cancelled amount]} of the payments paid on
    local days `first`..`last`; only the `dims` asked for ("day", "system",
    "manager") are kept in the key, the others are None."""
    T = ReportPaymentDay
    keep_day, keep_system, keep_manager = "day" in dims, "system" in dims, "manager" in dims

    def project(day, cell, system_id, gateway, method, manager_id):
        return (day if keep_day else None, cell,
                *((system_id, gateway, method) if keep_system else (None, None, None)),
                manager_id if keep_manager else None)

    def collect(state, cells, changes):
        out: dict = {}

        def add(key, vector):
            target = out.setdefault(key, [0, 0, 0, 0])
            for i, value in enumerate(vector):
                target[i] += int(value or 0)

        if state is not None:
            keys = [T.cell_id]
            if keep_day:
                keys.append(T.day)
            if keep_system:
                keys += [T.payment_system_id, T.gateway, T.method]
            if keep_manager:
                keys.append(T.manager_id)
            query = (T.select(*keys, *[fn.SUM(getattr(T, f)) for f in PAYMENT_FIELDS])
                     .where((T.day >= first) & (T.day <= last)).group_by(*keys))
            for row in query.tuples():
                values = dict(zip([k.name for k in keys], row, strict=False))
                cell = cells.get(values["cell_id"])
                if cell is None:
                    continue
                add(project(_date(values["day"]) if keep_day else None, cell, values.get("payment_system_id"),
                            values.get("gateway"), values.get("method"), values.get("manager_id")),
                    row[len(keys):])
        for (day, cell, *rest), vector in changes.payments.items():
            if first <= day <= last:
                add(project(day, cell, *rest), vector)
        # a correction may leave a key with nothing (a subscriber moved out of its group): as if absent
        return {key: vector for key, vector in out.items() if any(vector)}

    return _read(collect)


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# --- keeping them ----------------------------------------------------------------------


def _watermarks(wait: bool) -> tuple[int, int]:
    """The highest ledger entry and payment ids, every lower one committed.
    PostgreSQL hands out ids before commit: a SHARE lock (inside the
    caller's transaction) waits for the writers in flight — or, without
    `wait`, fails at once (peewee.OperationalError) and the refresh is
    left to its next run."""
    if not is_sqlite():
        database.execute_sql("LOCK TABLE ledger_entry, payment IN SHARE MODE" + ("" if wait else " NOWAIT"))
    w = LedgerEntry.select(fn.MAX(LedgerEntry.id)).scalar() or 0
    p = Payment.select(fn.MAX(Payment.id)).scalar() or 0
    return int(w), int(p)


def _cell_ids(cells) -> dict[Cell, int]:
    """Cell → id, creating the cells not stored yet."""
    known = {cell: cid for cid, cell in stored_cells().items()}
    for cell in set(cells) - set(known):
        known[cell] = ReportCell.insert(operator_id=cell.operator, tariff_id=cell.tariff or 0,
                                        groups=cell.groups_text).execute()
    return known


def rebuild() -> dict:
    """Recompute every aggregate from the ledger and the payments (the
    `flask reports rebuild` command); returns counts for the operator."""
    if not is_sqlite():  # the watermarks under a short lock; payments are not held up by the rebuild
        with database.atomic():
            w, p = _watermarks(wait=True)
    with transaction():
        if is_sqlite():  # the writer's lock is held throughout: every lower id is committed
            w, p = _watermarks(wait=True)
        # the marks read before the cells are worked out: a change after them stays marked
        dirty_upto = ReportDirty.select(fn.MAX(ReportDirty.id)).scalar() or 0
        for model in (ReportLedgerMonth, ReportPaymentDay, ReportAgreementCell, ReportCell, ReportTotalsState):
            model.delete().execute()
        cells = current_cells()
        ids = _cell_ids(set(cells.values()))
        rows = [(aid, ids[cell]) for aid, cell in cells.items()]
        for chunk in _chunks(rows, 5000):
            ReportAgreementCell.insert_many(chunk, fields=[ReportAgreementCell.agreement_id,
                                                           ReportAgreementCell.cell_id]).execute()
        months = _rebuild_ledger(w)
        days = _rebuild_payments(w, p)
        ReportDirty.delete().where(ReportDirty.id <= dirty_upto).execute()
        ReportTotalsState.create(ledger_id=w, payment_id=p, timezone=zone_name(), refreshed_at=now_utc())
    return {"agreements": len(rows), "cells": len(ids), "months": months, "days": days,
            "ledger_id": w, "payment_id": p}


def _kind_sum(kinds):
    for kind in kinds:
        if kind not in LEDGER_KINDS:
            raise ValueError(kind)
    test = SQL('"kind" IN ({})'.format(", ".join(f"'{k}'" for k in kinds)))
    return fn.SUM(Case(None, [(test, LedgerEntry.amount)], SQL("0")))


def _span(column, model) -> tuple | None:
    low, high = model.select(fn.MIN(column), fn.MAX(column)).tuples().first() or (None, None)
    if low is None:
        return None
    low, high = (dt.datetime.fromisoformat(v) if isinstance(v, str) else v for v in (low, high))
    return local_date_of(low), local_date_of(high)


def _rebuild_ledger(w: int) -> int:
    span = _span(LedgerEntry.created_at, LedgerEntry)
    if span is None:
        return 0
    M = ReportAgreementCell
    revenue = SQL('"kind" IN ({}) AND "amount" < 0'.format(", ".join(f"'{k}'" for k in REVENUE_KINDS)))
    payers = fn.COUNT(fn.DISTINCT(Case(None, [(revenue, LedgerEntry.agreement)], None)))
    month, count = month_start(span[0]), 0
    while month <= span[1]:
        low, high = midnight_utc(month), midnight_utc(add_months(month, 1))
        query = (LedgerEntry.select(M.cell_id, *[_kind_sum(k) for k in LEDGER_CLASSES.values()], payers)
                 .join(M, on=(M.agreement_id == LedgerEntry.agreement))
                 .where((LedgerEntry.created_at >= low) & (LedgerEntry.created_at < high) & (LedgerEntry.id <= w))
                 .group_by(M.cell_id))
        rows = [(month, cell_id, *[int(v or 0) for v in values]) for cell_id, *values in query.tuples()]
        if rows:
            ReportLedgerMonth.insert_many(rows, fields=[ReportLedgerMonth.month, ReportLedgerMonth.cell_id,
                                                        *[getattr(ReportLedgerMonth, f) for f in LEDGER_FIELDS]]
                                          ).execute()
            count += 1
        month = add_months(month, 1)
    return count


def _rebuild_payments(w: int, p: int) -> int:
    span = _span(Payment.paid_at, Payment)
    if span is None:
        return 0
    M = ReportAgreementCell
    gone = Payment.reversal_entry.is_null(False) & (Payment.reversal_entry <= w)
    aggregates = [fn.SUM(Case(None, [(gone, 0)], 1)), fn.SUM(Case(None, [(gone, 0)], Payment.amount)),
                  fn.SUM(Case(None, [(gone, 1)], 0)), fn.SUM(Case(None, [(gone, Payment.amount)], 0))]
    keys = [M.cell_id, fn.COALESCE(Payment.payment_system_id, 0), Payment.gateway, Payment.method,
            fn.COALESCE(Payment.manager_id, 0)]
    fields = [ReportPaymentDay.day, ReportPaymentDay.cell_id, ReportPaymentDay.payment_system_id,
              ReportPaymentDay.gateway, ReportPaymentDay.method, ReportPaymentDay.manager_id,
              *[getattr(ReportPaymentDay, f) for f in PAYMENT_FIELDS]]
    day, count = span[0], 0
    while day <= span[1]:
        low, high = midnight_utc(day), midnight_utc(day + dt.timedelta(days=1))
        query = (Payment.select(*keys, *aggregates).join(M, on=(M.agreement_id == Payment.agreement))
                 .where((Payment.paid_at >= low) & (Payment.paid_at < high) & (Payment.id <= p)).group_by(*keys))
        rows = [(day, *key[:5], *[int(v or 0) for v in key[5:]]) for key in query.tuples()]
        if rows:
            ReportPaymentDay.insert_many(rows, fields=fields).execute()
            count += 1
        day += dt.timedelta(days=1)
    return count


def refresh() -> dict:
    """Fold what changed since the last refresh into the aggregates (the
    worker's job, every few minutes); a full rebuild when there are none
    yet or they are of another time zone.  On PostgreSQL a refresh that
    would have to wait for a long writer (the nightly rent run) is left
    to its next run: {"skipped": True}."""
    state = _state()
    if state is None or state.timezone != zone_name():
        return dict(rebuild(), rebuilt=True)
    try:
        with transaction():
            ReportTotalsState.update(refreshed_at=now_utc()).where(ReportTotalsState.id == state.id).execute()
            state = ReportTotalsState.get_by_id(state.id)  # read again under the lock
            w_new, p_new = _watermarks(wait=False)
            dirty_upto = ReportDirty.select(fn.MAX(ReportDirty.id)).scalar() or 0
            dirty = _dirty_agreements(dirty_upto)
            cells = stored_cells()
            changes = Changes(state.ledger_id, state.payment_id, w_new, p_new, dirty, lambda ids: _booked(ids, cells))
            _apply(changes)
            ReportDirty.delete().where(ReportDirty.id <= dirty_upto).execute()
            ReportTotalsState.update(ledger_id=w_new, payment_id=p_new).where(
                ReportTotalsState.id == state.id).execute()
    except peewee.OperationalError:
        if is_sqlite():
            raise
        return {"skipped": True}
    return {"agreements": len(changes.cells), "ledger_id": w_new, "payment_id": p_new}


def _apply(changes: Changes) -> None:
    ids = _cell_ids(set(changes.cells.values()) | {k[1] for k in changes.ledger} | {k[1] for k in changes.payments})
    for aid, cell in changes.cells.items():
        updated = ReportAgreementCell.update(cell_id=ids[cell]).where(ReportAgreementCell.agreement_id == aid).execute()
        if not updated:
            ReportAgreementCell.insert(agreement_id=aid, cell_id=ids[cell]).execute()
    T = ReportLedgerMonth
    for (month, cell), vector in changes.ledger.items():
        if not any(vector):
            continue
        where = (T.month == month) & (T.cell_id == ids[cell])
        if not T.update({getattr(T, f): getattr(T, f) + v for f, v in zip(LEDGER_FIELDS, vector, strict=True)}) \
                .where(where).execute():
            T.insert(month=month, cell_id=ids[cell], **dict(zip(LEDGER_FIELDS, vector, strict=True))).execute()
    P = ReportPaymentDay
    for (day, cell, system_id, gateway, method, manager_id), vector in changes.payments.items():
        if not any(vector):
            continue
        where = ((P.day == day) & (P.cell_id == ids[cell]) & (P.payment_system_id == system_id)
                 & (P.gateway == gateway) & (P.method == method) & (P.manager_id == manager_id))
        if not P.update({getattr(P, f): getattr(P, f) + v for f, v in zip(PAYMENT_FIELDS, vector, strict=True)}) \
                .where(where).execute():
            P.insert(day=day, cell_id=ids[cell], payment_system_id=system_id, gateway=gateway, method=method,
                     manager_id=manager_id, **dict(zip(PAYMENT_FIELDS, vector, strict=True))).execute()
