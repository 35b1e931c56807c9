"""Admin screens for ISP staff (/admin)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from lanbill.admin import views  # noqa: E402,F401
