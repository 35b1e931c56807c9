"""A covering index for the movement report: each subscriber's accounts
with their connect and disconnect dates and whether they are live, read
from the index alone when the report groups 100,000 subscribers."""


def upgrade(db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS "account_report_movement" ON "account" '
                   '("subscriber_id", "connect_date", "disconnect_date", "deleted", "is_off", "deleted_at")')
