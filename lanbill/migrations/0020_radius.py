"""RADIUS agent: online sessions, CoA queue, agent counters, feed cursors."""

from lanbill.models.radius import CoaRequest, RadiusAgentStatus, RadiusCursor, RadiusSession


def upgrade(db):
    db.create_tables([RadiusSession, CoaRequest, RadiusAgentStatus, RadiusCursor])
    # One open session per (NAS, Acct-Session-Id); closed ones stay as history.
    db.execute_sql(
        "CREATE UNIQUE INDEX radius_session_open ON radius_session (nas_id, acct_session_id) "
        "WHERE stopped_at IS NULL"
    )
