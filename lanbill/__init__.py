"""LANBill: an automated settlement system for small regional ISPs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask, jsonify, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
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

# What a page may load: only this site's own files — no inline script,
# style or event handler (they live in static/), no framing by another
# site, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose cookie is marked Secure whenever
    the request came over HTTPS — directly or, with TRUSTED_PROXIES, as
    nginx's X-Forwarded-Proto says — so the embedded default still works
    over plain HTTP on 127.0.0.1 while a box behind TLS never sends its
    session in clear.  SESSION_COOKIE_SECURE = True forces it always."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


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
    # The session cookie: never read by scripts, not sent with cross-site
    # POSTs, Secure over HTTPS (SessionInterface below).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = settings.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.session_interface = SessionInterface()
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
    from lanbill.pay.fast import install as install_pay_fast_path  # lazy: see _register_blueprints

    install_pay_fast_path(app, SECURITY_HEADERS)  # terminals' check/pay answered before Flask
    _register_template_helpers(app)
    _register_security(app)

    from lanbill import cli, tasks  # lazy: see _register_blueprints

    cli.register(app)
    tasks.configure(app)
    _connect_receivers()
    from lanbill.notify.receivers import connect as connect_notifications  # lazy: see _register_blueprints

    connect_notifications(app.config)
    return app


def _connect_receivers() -> None:
    """Domain rooms that listen to others' events (lanbill.events)."""
    from lanbill.paysys.receipts import connect_receivers  # lazy: see _register_blueprints

    connect_receivers()


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
        """The session's manager, if still active and the session is of the
        manager's current session version (a logout or a password change
        elsewhere ends it)."""
        from lanbill.auth import SESSION_VERSION_KEY  # lazy: see _register_blueprints
        from lanbill.models import Manager, Role

        manager = (
            Manager.select(Manager, Role)
            .join(Role)
            .where((Manager.id == int(manager_id)) & (Manager.active == True))  # noqa: E712
            .first()
        )
        if manager is None or session.get(SESSION_VERSION_KEY) != manager.session_version:
            return None
        return manager


def _register_blueprints(app: Flask) -> None:
    # Imported here, not at the top: `import lanbill.models` (agents, jobs,
    # scripts) runs this package first and must not load every view, form
    # and command with it; the views in turn import lanbill's submodules.
    from lanbill.admin import bp as admin_bp
    from lanbill.api import bp as api_bp
    from lanbill.auth import bp as auth_bp
    from lanbill.cabinet import bp as cabinet_bp
    from lanbill.captive import bp as captive_bp
    from lanbill.pay import bp as pay_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # token auth, no cookies
    app.register_blueprint(cabinet_bp)  # /: the subscriber's cabinet
    app.register_blueprint(captive_bp)  # /blocked: the "please pay" page (RADIUS redirect pool)
    app.register_blueprint(pay_bp, url_prefix="/pay")  # payment systems call these
    csrf.exempt(pay_bp)  # providers post without a session; guarded by address and credentials

    from lanbill.monitoring import bp as monitoring_bp

    app.register_blueprint(monitoring_bp)  # /healthz, /metrics for monitoring (MONITORING_ALLOWED)

    def favicon():
        # browsers ask for /favicon.ico on pages that name no icon
        return app.send_static_file("favicon.svg")

    app.add_url_rule("/favicon.ico", "favicon", favicon)


def _number(value, digits: int = 0) -> str:
    """A number as the UI language writes it: 1 234,5 in Russian, 1,234.5
    in English (Babel), with at most `digits` decimals."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = _number
    app.jinja_env.globals["lanbill_version"] = __version__
    # `<html lang>` names the page's language, for screen readers and the
    # browser's spell-checker and hyphenation.
    app.jinja_env.globals["get_locale"] = get_locale

    @app.context_processor
    def _menu():
        from lanbill.admin.menu import menu_for  # lazy: see _register_blueprints

        if current_user and current_user.is_authenticated:
            return {"admin_menu": menu_for(current_user, app.view_functions)}
        return {"admin_menu": []}


def _register_security(app: Flask) -> None:
    """Headers every answer carries, and the answer to a request larger
    than MAX_CONTENT_LENGTH."""

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):
        limit_mb = max(1, int(app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024))
        if request.path.startswith("/api/"):
            return jsonify({"error": _("The request is too large."), "fields": {}}), 413
        return render_template("errors/request_too_large.html", limit_mb=limit_mb), 413


def instance_folder(app: Flask) -> Path:
    return Path(app.instance_path)
