"""The NetFlow collector's status per exporter (agents page)."""

from lanbill.models.traffic import NetflowStatus


def upgrade(db):
    db.create_tables([NetflowStatus])
