"""LANBill: an automated settlement system for small regional ISPs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from lanbill import clock
from lanbill.config import ROOT, load_settings
from lanbill.db import bind_database, configure_encryption, database, is_sqlite
from lanbill.i18n import catalogue_directories
from lanbill.money import format_money

__version__ = "0.1.0"

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


def create_app(config: dict | None = None) -> Flask:
    """The application factory (flaskr's pattern): settings, database,
    login, Babel, CSRF, blueprints and CLI commands."""
    settings = load_settings(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(minutes=settings["SESSION_MINUTES"])
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(catalogue_directories(ROOT / "translations"))
    app.config["LANBILL_VERSION"] = __version__
    if app.config.get("TRUSTED_PROXIES"):
        # Behind nginx (deploy/nginx/lanbill.conf): the client's address and
        # scheme come from X-Forwarded-* of that many proxies — the login
        # limits and the audit log need the real address.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    _init_database(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)

    from lanbill import cli, tasks  # lazy: see _register_blueprints

    cli.register(app)
    tasks.configure(app)
    return app


def _init_database(app: Flask) -> None:
    bind_database(app.config["DATABASE_URL"])
    configure_encryption(app.config["DATA_KEY"])
    clock.set_timezone(app.config.get("TIMEZONE"))

    @app.before_request
    def _open_db():
        database.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close_db(exc):
        # SQLite: each thread keeps its connection between requests.  Opening
        # one re-reads the schema and closing the last one checkpoints the
        # WAL; per request that doubled the CPU of a payment
        # (tests/perf/test_foundation_perf.py).
        if is_sqlite():
            return
        if not database.is_closed() and not database.in_transaction():
            database.close()


def select_locale():
    """The UI is Russian unless the manager chose English; the API answers
    in the request's language (Accept-Language), Russian by default."""
    if request.blueprint == "api":
        return request.accept_languages.best_match(["ru", "en"]) or "ru"
    if current_user and current_user.is_authenticated and current_user.language in ("ru", "en"):
        return current_user.language
    return request.cookies.get("lang") if request.cookies.get("lang") in ("ru", "en") else "ru"


def _init_extensions(app: Flask) -> None:
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_locale="ru")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_manager(manager_id):
        from lanbill.models import Manager, Role  # lazy: see _register_blueprints

        return (
            Manager.select(Manager, Role)
            .join(Role)
            .where((Manager.id == int(manager_id)) & (Manager.active == True))  # noqa: E712
            .first()
        )


def _register_blueprints(app: Flask) -> None:
    # Imported here, not at the top: `import lanbill.models` (agents, jobs,
    # scripts) runs this package first and must not load every view, form
    # and command with it; the views in turn import lanbill's submodules.
    from lanbill.admin import bp as admin_bp
    from lanbill.api import bp as api_bp
    from lanbill.auth import bp as auth_bp
    from lanbill.cabinet import bp as cabinet_bp
    from lanbill.captive import bp as captive_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # token auth, no cookies
    app.register_blueprint(cabinet_bp)  # /: the subscriber's cabinet
    app.register_blueprint(captive_bp)  # /blocked: the "please pay" page (RADIUS redirect pool)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["lanbill_version"] = __version__

    @app.context_processor
    def _menu():
        from lanbill.admin.menu import menu_for  # lazy: see _register_blueprints

        if current_user and current_user.is_authenticated:
            return {"admin_menu": menu_for(current_user, app.view_functions)}
        return {"admin_menu": []}


def instance_folder(app: Flask) -> Path:
    return Path(app.instance_path)
