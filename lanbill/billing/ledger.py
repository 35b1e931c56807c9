"""The ledger: the one function that changes a balance, and the invariant.

DESIGN §4: every change of a balance is one ledger row inserted in the same
transaction as the balance update; nothing is ever deleted; periodic charges
carry an idempotency key so that a re-run never charges twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import peewee

from lanbill.actor import actor_of
from lanbill.billing import blocks
from lanbill.db import (
    CENT,
    database,
    from_minor,
    insert_row,
    insert_rows,
    is_sqlite,
    storage_value,
    to_minor,
    transaction,
    update_by_id,
)
from lanbill.errors import N_, ValidationError
from lanbill.models import Agreement, LedgerEntry
from lanbill.models.agreements import LEDGER_KINDS


def idempotency_key(agreement_id, account_id, kind, service_id, period_start, period_end=None) -> str:
    """The key of a periodic charge: (agreement, account, kind, service, period)."""
    period = f"{period_start}" if period_end in (None, period_start) else f"{period_start}..{period_end}"
    return f"{agreement_id}:{account_id or '-'}:{kind}:{service_id or '-'}:{period}"


def post_entry(
    agreement,
    amount: Decimal,
    kind: str,
    *,
    actor=None,
    account=None,
    tariff=None,
    service=None,
    payment=None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    comment: str = "",
    idempotency_key: str | None = None,
    original_amount: Decimal | None = None,
    original_currency: str | None = None,
    rate: Decimal | None = None,
) -> tuple[LedgerEntry, bool]:
    """Insert one ledger entry and move the agreement's balance by `amount`.

    Returns (entry, created).  With an `idempotency_key` already used, the
    existing entry is returned and nothing changes (DESIGN §4).  After the
    balance moves, the balance block of the agreement's accounts is
    re-evaluated (DESIGN §5: set and lifted the moment funds cross zero).
    """
    if kind not in LEDGER_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    amount = Decimal(amount)
    if amount != amount.quantize(CENT):
        raise ValidationError(N_("Amount may have at most two decimals."))
    who = actor_of(actor)
    agreement_id = _id(agreement)
    with transaction():
        if idempotency_key is not None:
            existing = LedgerEntry.get_or_none(LedgerEntry.idempotency_key == idempotency_key)
            if existing is not None:
                return existing, False
        # a savepoint only where a racing duplicate key must roll back alone
        guard = database.atomic() if idempotency_key is not None else contextlib.nullcontext()
        try:
            with guard:
                entry = insert_row(
                    LedgerEntry,
                    agreement=agreement_id,
                    amount=amount,
                    kind=kind,
                    account_id=_id(account),
                    tariff_id=_id(tariff),
                    service_id=_id(service),
                    payment_id=_id(payment),
                    period_start=period_start,
                    period_end=period_end,
                    original_amount=original_amount,
                    original_currency=original_currency,
                    rate=rate,
                    manager_id=who.manager_id,
                    actor=who.label,
                    comment=comment,
                    idempotency_key=idempotency_key,
                )
        except peewee.IntegrityError:
            if idempotency_key is None:
                raise
            return LedgerEntry.get(LedgerEntry.idempotency_key == idempotency_key), False
        if amount:
            # RETURNING hands the block rule the new funds without a second
            # read; the statement's text is fixed (built once, not per call)
            moved = database.execute_sql(_MOVE_BALANCE_SQL.format(p=database.param),
                                         (to_minor(amount), agreement_id)).fetchall()
            if len(moved) != 1:
                raise ValidationError(N_("Agreement not found."))
            balance, credit_limit, promised, refused = moved[0]
            blocks.balance_moved(agreement_id, amount, Agreement(
                id=agreement_id, balance=from_minor(balance), credit_limit=from_minor(credit_limit),
                promised_amount=from_minor(promised), promise_refused_until_repaid=bool(refused)))
    return entry, True


_MOVE_BALANCE_SQL = (
    'UPDATE "agreement" SET "balance" = "balance" + {p} WHERE "id" = {p} '
    'RETURNING "balance", "credit_limit", "promised_amount", "promise_refused_until_repaid"'
)


def ledger_sum(agreement_id: int) -> Decimal:
    value = (
        LedgerEntry.select(peewee.fn.COALESCE(peewee.fn.SUM(LedgerEntry.amount), 0))
        .where(LedgerEntry.agreement == agreement_id)
        .scalar(convert=False)
    )
    return from_minor(value)


def balances_after(agreement_id: int, entry_ids) -> dict[int, Decimal]:
    """The agreement's balance right after each of `entry_ids` (entries in
    booking order: created_at, then id), from one window query over the
    agreement's ledger — the running balance staff read beside each entry."""
    entry_ids = list(entry_ids)
    if not entry_ids:
        return {}
    running = peewee.fn.SUM(LedgerEntry.amount).over(order_by=[LedgerEntry.created_at, LedgerEntry.id])
    inner = (LedgerEntry.select(LedgerEntry.id.alias("entry_id"), running.alias("balance"))
             .where(LedgerEntry.agreement == agreement_id).alias("running"))
    rows = (peewee.Select([inner], [inner.c.entry_id, inner.c.balance])
            .where(inner.c.entry_id.in_(entry_ids)).bind(database).tuples())
    return {entry_id: from_minor(int(balance)) for entry_id, balance in rows}


def check_invariant() -> list[tuple[int, str, Decimal, Decimal]]:
    """Every agreement whose balance differs from the sum of its ledger:
    [(id, number, balance, ledger_sum)].  Empty means all is right."""
    sums = (
        LedgerEntry.select(
            LedgerEntry.agreement, peewee.fn.SUM(LedgerEntry.amount).alias("total")
        )
        .group_by(LedgerEntry.agreement)
        .alias("sums")
    )
    query = (
        Agreement.select(Agreement.id, Agreement.number, Agreement.balance, sums.c.total)
        .join(sums, peewee.JOIN.LEFT_OUTER, on=(sums.c.agreement_id == Agreement.id))
        .tuples()
    )
    wrong = []
    for agreement_id, number, balance_minor, total in query.iterator():
        # .tuples() bypasses field conversion only for the subquery column
        balance = Decimal(balance_minor) if isinstance(balance_minor, Decimal) else balance_minor
        total_value = from_minor(total or 0)
        if Decimal(balance) != total_value:
            wrong.append((agreement_id, number, Decimal(balance), total_value))
    return wrong


def _id(obj):
    if obj is None:
        return None
    return obj if isinstance(obj, int) else obj.id


ENTRY_COLUMNS = (
    "agreement_id", "amount", "kind", "account_id", "tariff_id", "service_id", "period_start",
    "period_end", "original_amount", "original_currency", "rate", "comment", "idempotency_key",
)  # fmt: skip
_CHUNK = 400


def post_entries(entries: list[dict], *, actor=None, stamps: dict | None = None, known=None) -> list[dict]:
    """The bulk form of `post_entry` for the billing run: many keyed
    periodic entries in one transaction, with every invariant of the single
    form (DESIGN §4) — each row and its balance move commit together, an
    idempotency key already used is skipped, and the balance block of each
    agreement whose available funds start or end below zero is re-evaluated
    (as `post_entry` does through blocks.balance_moved).

    `entries` are dicts with the keys of ENTRY_COLUMNS (idempotency_key
    required).  `stamps` maps an agreement id to the instant its block
    changes are recorded at (blocks.stamped_at).  `known`: the caller has
    read, in the current transaction, every existing key these entries
    could collide with, and already left them out (the unique index still
    guards against a concurrent writer).  Returns the entries inserted.
    """
    if not entries:
        return []
    who = actor_of(actor)
    for entry in entries:
        if entry["kind"] not in LEDGER_KINDS:
            raise ValueError(f"unknown ledger kind {entry['kind']!r}")
        if not entry.get("idempotency_key"):
            raise ValueError("bulk entries need an idempotency key")
        amount = entry["amount"]
        if isinstance(amount, float) or amount != Decimal(amount).quantize(CENT):
            raise ValueError(f"bad amount {amount!r}")
    with transaction():
        taken = set()
        if known is None:
            keys = [e["idempotency_key"] for e in entries]
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                marks = ", ".join([database.param] * len(chunk))
                cursor = database.execute_sql(
                    f"SELECT idempotency_key FROM ledger_entry WHERE idempotency_key IN ({marks})", chunk)
                taken.update(k for (k,) in cursor.fetchall())
        fresh = []
        for entry in entries:
            if entry["idempotency_key"] in taken:
                continue
            taken.add(entry["idempotency_key"])
            fresh.append(entry)
        if not fresh:
            return []
        try:
            with database.atomic():  # a savepoint: a racing duplicate key rolls back alone
                _insert_rows(fresh, who)
        except peewee.IntegrityError:
            # A racing writer took a key meanwhile: fall back to the single
            # form, which answers a used key by returning the existing entry.
            inserted = []
            for entry in fresh:
                with _stamp(stamps, entry["agreement_id"]):
                    _, created = post_entry(
                        entry["agreement_id"], entry["amount"], entry["kind"], actor=who,
                        account=entry.get("account_id"), tariff=entry.get("tariff_id"),
                        service=entry.get("service_id"), period_start=entry.get("period_start"),
                        period_end=entry.get("period_end"), comment=entry.get("comment") or "",
                        idempotency_key=entry["idempotency_key"],
                        original_amount=entry.get("original_amount"),
                        original_currency=entry.get("original_currency"), rate=entry.get("rate"),
                    )
                if created:
                    inserted.append(entry)
            return inserted
        moves: dict[int, Decimal] = {}
        for entry in fresh:
            moves[entry["agreement_id"]] = moves.get(entry["agreement_id"], Decimal(0)) + Decimal(entry["amount"])
        moves = {k: v for k, v in moves.items() if v}
        update_by_id("agreement", "balance", [(aid, to_minor(moves[aid])) for aid in sorted(moves)], add=True)
        blocks.balances_moved(moves, stamps)
    return fresh


def _insert_rows(entries: list[dict], who) -> None:
    """INSERT the rows with one prepared statement (executemany): the
    values go through each field's own db_value, as Peewee would do."""
    fields = [LedgerEntry._meta.fields["agreement" if c == "agreement_id" else c] for c in ENTRY_COLUMNS]
    extra = [LedgerEntry.manager_id, LedgerEntry.actor, LedgerEntry.created_at]
    now = LedgerEntry.created_at.db_value(LedgerEntry.created_at.default())
    rows = []
    for entry in entries:
        row = [f.db_value(entry.get(c)) if entry.get(c) is not None else None
               for f, c in zip(fields, ENTRY_COLUMNS, strict=True)]
        row += [who.manager_id, who.label, now]
        rows.append(tuple(storage_value(v) for v in row))
    insert_rows("ledger_entry", [f.column_name for f in fields + extra], rows)




def _stamp(stamps, agreement_id):
    """The agreement's own stamp if given, else whatever the caller set."""
    if stamps and stamps.get(agreement_id) is not None:
        return blocks.stamped_at(stamps[agreement_id])
    return contextlib.nullcontext()


def reserve_ids(table: str, count: int) -> list[int]:
    """`count` fresh primary keys of `table` for rows inserted with explicit
    ids (so that two tables can point at each other without an UPDATE per
    row).  Call it inside the write transaction: on SQLite that
    transaction holds the writer lock, so the ids after the largest one
    stay free until it commits; on PostgreSQL they come from the table's
    own sequence."""
    if count <= 0:
        return []
    if is_sqlite():
        top = database.execute_sql(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"').fetchone()[0]
        return list(range(top + 1, top + 1 + count))
    cursor = database.execute_sql(
        f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id')) FROM generate_series(1, %s)", (count,))
    return [row[0] for row in cursor.fetchall()]


PAYMENT_ENTRY_COLUMNS = ("id", "agreement_id", "amount", "kind", "payment_id", "comment", "manager_id", "actor",
                         "created_at")


def post_payment_entries(entries: list[dict], *, actor=None) -> None:
    """The bulk form of `post_entry` for the entries of many payments booked
    together (billing.payments.post_payments: a bank registry): each
    entry a dict with `id` (from reserve_ids), `agreement_id`, `amount`
    (> 0), `payment_id` and `comment`.  The same invariants as one by one
    (DESIGN §4): every row and its balance move commit together, and the
    balance block of each agreement whose available funds start or end
    below zero is re-evaluated (blocks.balances_moved)."""
    if not entries:
        return
    who = actor_of(actor)
    with transaction():
        now = LedgerEntry.created_at.db_value(LedgerEntry.created_at.default())
        amount_field = LedgerEntry.amount
        rows = [(e["id"], e["agreement_id"], amount_field.db_value(e["amount"]), "payment", e["payment_id"],
                 e.get("comment") or "", who.manager_id, who.label, storage_value(now)) for e in entries]
        insert_rows("ledger_entry", PAYMENT_ENTRY_COLUMNS, rows)
        moves: dict[int, Decimal] = {}
        for entry in entries:
            moves[entry["agreement_id"]] = moves.get(entry["agreement_id"], Decimal(0)) + Decimal(entry["amount"])
        moves = {k: v for k, v in moves.items() if v}
        update_by_id("agreement", "balance", [(aid, to_minor(moves[aid])) for aid in sorted(moves)], add=True)
        blocks.balances_moved(moves)


