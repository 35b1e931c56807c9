"""Covering indexes for the dashboard and the settings lists: payments and
charges per day read only the index (pay date / posting time, kind, amount),
accounts by state and the account counts per tariff and per agent count
index entries instead of visiting 100,000 account rows."""


def upgrade(db):
    for statement in (
        'CREATE INDEX IF NOT EXISTS "ledger_entry_created_kind_amount" ON "ledger_entry" '
        '("created_at", "kind", "amount")',
        'CREATE INDEX IF NOT EXISTS "payment_paid_cancelled_amount" ON "payment" ("paid_at", "cancelled_at", "amount")',
        'CREATE INDEX IF NOT EXISTS "account_deleted_state_subscriber" ON "account" '
        '("deleted", "state", "subscriber_id")',
        'CREATE INDEX IF NOT EXISTS "account_tariff_deleted" ON "account" ("tariff_id", "deleted")',
        'CREATE INDEX IF NOT EXISTS "account_agent_deleted" ON "account" ("agent_id", "deleted")',
    ):
        db.execute_sql(statement)
