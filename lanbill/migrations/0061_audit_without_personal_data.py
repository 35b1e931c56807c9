"""Audit rows written before personal data was kept out of the log lose the
passport values they hold: each personal field becomes "(changed)", the
way the audit log records such fields from now on (DESIGN §9)."""

from lanbill.models import AuditLog
from lanbill.staff.audit import redact_personal

BATCH = 500


def upgrade(db):
    last_id = 0
    while True:
        # Only rows about subscribers hold personal fields.
        rows = list(AuditLog.select(AuditLog.id, AuditLog.before, AuditLog.after)
                    .where((AuditLog.object_type == "subscriber") & (AuditLog.id > last_id))
                    .order_by(AuditLog.id).limit(BATCH))
        if not rows:
            return
        for row in rows:
            before, after = redact_personal(row.before, row.after)
            if (before, after) != (row.before, row.after):
                AuditLog.update(before=before, after=after).where(AuditLog.id == row.id).execute()
        last_id = rows[-1].id
