"""The NetFlow collector's new counters: records dropped as impossible,
export times clamped, templates and observation domains beyond the limits
per exporter; datagrams from unknown exporters per agent."""

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from lanbill.models.traffic import NetflowAgentStatus

COLUMNS = ("bad_records", "clamped_times", "dropped_templates", "dropped_domains")


def upgrade(db):
    existing = {column.name for column in db.get_columns("netflow_status")}
    migrator = SchemaMigrator.from_database(db)
    migrate(*(migrator.add_column("netflow_status", name, peewee.BigIntegerField(default=0))
              for name in COLUMNS if name not in existing))
    db.create_tables([NetflowAgentStatus], safe=True)
