"""Covering indexes for the reports: a month of the ledger by posting time
with the agreement, kind and amount (the reconciliation, ARPU and their
breakdowns read only the index, never the ledger rows), and payments by
pay date with the agreement (payments by group or operator)."""


def upgrade(db):
    for statement in (
        'CREATE INDEX IF NOT EXISTS "ledger_entry_report_month" ON "ledger_entry" '
        '("created_at", "agreement_id", "kind", "amount")',
        'CREATE INDEX IF NOT EXISTS "payment_report_paid" ON "payment" '
        '("paid_at", "agreement_id", "cancelled_at", "amount")',
    ):
        db.execute_sql(statement)
