"""The subscriber's cabinet at the root URL `/` (DESIGN §10, seed 002
«Приложение 1. Личный кабинет абонента»): login, home, histories, the
user block, passwords, promised payment and traffic statistics.

Its session is its own (a cabinet key, not Flask-Login's current_user):
a staff session never opens the cabinet, a cabinet session never opens a
staff screen."""

import datetime as dt

from flask import Blueprint, current_app, request, url_for
from flask_babel import get_locale

from lanbill.cabinet.menu import links, menu
from lanbill.clock import to_local

bp = Blueprint("cabinet", __name__)


@bp.app_template_filter("cabinet_datetime")
def cabinet_datetime(value, with_time=True):
    """A naive-UTC timestamp (or a date) in the operator's zone, as a
    subscriber reads it: 05.01.2026 14:30."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return to_local(value).strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


@bp.app_context_processor
def _cabinet_menu():
    return {"cabinet_menu": lambda: menu(current_app.view_functions), "cabinet_links": _links}


def _links():
    return links(current_app._get_current_object(), str(get_locale()), request.script_root, url_for)


# The view modules register their routes on `bp`, so they are imported once
# it exists.
from lanbill.cabinet import cards, documents, notifications, pay, reset, support, tariffs, traffic, views  # noqa: E402,F401
