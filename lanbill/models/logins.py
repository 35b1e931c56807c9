"""Failed staff logins by client address, for the per-address slow-down
(DESIGN §9: logins are rate-limited; lanbill.staff.login_limits)."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow


class LoginFailure(BaseModel):
    ip = peewee.CharField(max_length=45)
    login = peewee.CharField(max_length=64, default="")
    at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("ip", "at"), False),)
