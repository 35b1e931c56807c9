"""The billing run's progress table (issue 5)."""

from lanbill.models.billing import BillingDay


def upgrade(db):
    db.create_tables([BillingDay])
