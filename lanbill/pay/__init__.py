"""Endpoints payment systems call (DESIGN §2, §11): `/pay/<code>` for the
check/pay protocols (OSMP/QIWI, Sberbank Online) and `/pay/<code>/notify`
for ЮKassa's notifications.  CSRF-exempt (providers post without a
session); guarded by the system's allowed networks and HTTP basic
credentials instead (lanbill.paysys.systems)."""

from flask import Blueprint

bp = Blueprint("pay", __name__)

# The view module registers its routes on `bp`, so it is imported once it exists.
from lanbill.pay import views  # noqa: E402,F401
