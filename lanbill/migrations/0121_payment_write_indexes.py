"""Payments and ledger entries lose the indexes that another index of the
same table already serves: every booking updated each of them, no read
needs them.

- payment (agreement_id), ledger_entry (agreement_id): the leading part of
  (agreement_id, created_at);
- payment (paid_at), ledger_entry (created_at): the leading part of the
  reports' covering indexes (migration 0100);
- payment (paid_at, cancelled_at, amount), ledger_entry (created_at, kind,
  amount): the dashboard's covering indexes (0050), whose columns the
  reports' ones (same first column) all hold;
- payment (entry_id): nothing looks a payment up by its ledger entry;
- ledger_entry (kind): a handful of values, never the way in (the
  agreement, account or date indexes are).

A fresh database gets none of them (the models no longer ask for them and
0050's two are dropped here)."""

REDUNDANT = ("payment_agreement_id", "payment_paid_at", "ledger_entry_agreement_id", "ledger_entry_created_at",
             "payment_paid_cancelled_amount", "ledger_entry_created_kind_amount", "payment_entry_id",
             "ledger_entry_kind")


def upgrade(db):
    for name in REDUNDANT:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
