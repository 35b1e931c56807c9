"""Failed staff logins by client address (per-address login slow-down)."""

from lanbill.models.logins import LoginFailure


def upgrade(db):
    db.create_tables([LoginFailure])
