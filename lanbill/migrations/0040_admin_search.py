"""The admin screens' subscriber search index and the indexes their lists
sort by (subscribers by name, accounts by login) — with them a list page is
an index walk that stops after one page (ORDER BY … LIMIT) instead of a sort
of the whole table; subscriber.updated_at finds what the search index must
refresh."""

from lanbill.models.search import SubscriberSearch


def upgrade(db):
    db.create_tables([SubscriberSearch], safe=True)
    for statement in (
        'CREATE INDEX IF NOT EXISTS "subscriber_name_admin" ON "subscriber" ("name")',
        'CREATE INDEX IF NOT EXISTS "subscriber_template_name_admin" ON "subscriber" ("is_template", "name")',
        'CREATE INDEX IF NOT EXISTS "subscriber_updated_admin" ON "subscriber" ("updated_at")',
        'CREATE INDEX IF NOT EXISTS "account_login_admin" ON "account" ("login")',
        'CREATE INDEX IF NOT EXISTS "payment_agreement_paid_admin" ON "payment" ("agreement_id", "paid_at")',
    ):
        db.execute_sql(statement)
