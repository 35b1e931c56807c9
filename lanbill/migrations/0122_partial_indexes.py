"""Columns that a booking leaves NULL are indexed only where they hold a
value (lanbill.models.base.index_where_set): a payment, its ledger entry
and its audit row then update up to five B-trees fewer, and every lookup by
those columns still finds its index.

- ledger_entry (account_id), ledger_entry (idempotency_key, unique):
  payments and corrections have neither;
- payment (reversal_entry_id): set only when a payment is cancelled;
- payment (payment_system_id): NULL for what staff and the API book;
- audit_log (manager_id): NULL for payment systems, jobs and the API's
  system actors.

payment (agreement_id, created_at) goes: nothing reads an agreement's
payments by creation time, and (agreement_id, paid_at) (migration 0040)
serves every lookup by agreement."""

PARTIAL = (("ledger_entry", "account_id", False), ("ledger_entry", "idempotency_key", True),
           ("payment", "reversal_entry_id", False), ("payment", "payment_system_id", False),
           ("audit_log", "manager_id", False))


def upgrade(db):
    db.execute_sql('DROP INDEX IF EXISTS "payment_agreement_id_created_at"')
    for table, column, unique in PARTIAL:
        name = f"{table}_{column}"
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        db.execute_sql(f'CREATE {"UNIQUE " if unique else ""}INDEX "{name}" ON "{table}" ("{column}") '
                       f'WHERE "{column}" IS NOT NULL')
