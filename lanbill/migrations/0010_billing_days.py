"""The billing run's progress table: the last local day billed."""

from lanbill.models.billing import BillingDay


def upgrade(db):
    db.create_tables([BillingDay])
