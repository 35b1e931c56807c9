"""API tokens: created for a manager, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import secrets

from lanbill.db import transaction
from lanbill.models import ApiToken, Manager, Role
from lanbill.staff import audit


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(manager: Manager, *, name: str = "", actor=None) -> str:
    """Create an API token; only its hash is stored, the token is shown once."""
    token = "lb_" + secrets.token_urlsafe(32)
    with transaction():
        row = ApiToken.create(manager=manager, name=name, token_hash=token_hash(token))
        audit.record(actor or manager, "token.create", "api_token", row.id, after={"manager": manager.login})
    return token


def manager_for_token(token: str) -> Manager | None:
    row = (
        ApiToken.select(ApiToken, Manager, Role)
        .join(Manager)
        .join(Role)
        .where((ApiToken.token_hash == token_hash(token)) & (ApiToken.revoked_at.is_null()))
        .first()
    )
    if row is None or not row.manager.is_active:
        return None
    return row.manager
