"""Configuration: defaults, overridden by instance/config.py, then LANBILL_* env.

This is the only module that reads the environment (CONVENTIONS: "Nothing
reads the environment outside config").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "HTTP_HOST": "127.0.0.1",
    "HTTP_PORT": 8080,
    "DATABASE_URL": None,  # None: SQLite file lanbill.db in the instance folder
    "HUEY_URL": None,  # None: Huey's SQLite storage in the instance folder
    "SECRET_KEY": None,  # None: generated once into instance/secret_key
    "DATA_KEY": None,  # None: generated once into instance/data_key (Fernet)
    "TIMEZONE": None,  # None: the system's zone
    "BABEL_DEFAULT_LOCALE": "ru",
    "LANGUAGES": ["ru", "en"],
    "SESSION_MINUTES": 20,
    "AGREEMENT_NUMBER_PATTERN": "{year}-{seq:06d}",
    "RADIUS_AUTH_PORT": None,  # None: each RADIUS agent's own (default 1812)
    "RADIUS_ACCT_PORT": None,  # None: each RADIUS agent's own (default 1813)
    "NETFLOW_PORT": None,  # None: each NetFlow agent's own (default 2055)
    # What one NetFlow collector keeps whatever it is sent (more is dropped
    # and counted on the NetFlow status page): exporters, observation
    # domains per exporter, templates per exporter and domain; an exporter
    # silent this many seconds is forgotten
    "NETFLOW_MAX_EXPORTERS": 64,
    "NETFLOW_MAX_DOMAINS_PER_EXPORTER": 16,
    "NETFLOW_MAX_TEMPLATES_PER_DOMAIN": 64,
    "NETFLOW_EXPORTER_IDLE_SECONDS": 3600,
    # an export time further than this from the collector's clock is
    # replaced by the clock (0: exporters' clocks trusted); a record
    # sampled at a higher rate than this is dropped
    "NETFLOW_MAX_CLOCK_SKEW_SECONDS": 86400,
    "NETFLOW_MAX_SAMPLING_RATE": 1000000,
    # CoA / Disconnect-Request (RFC 5176) to the NAS: how long one attempt
    # waits for the ACK/NAK, how many attempts before "failed", and the
    # wait before a retry (doubling from BACKOFF up to BACKOFF_MAX), seconds
    "RADIUS_COA_TIMEOUT": 2.0,
    "RADIUS_COA_MAX_ATTEMPTS": 20,
    "RADIUS_COA_BACKOFF": 10,
    "RADIUS_COA_BACKOFF_MAX": 600,
    "LOGIN_MAX_FAILURES": 5,  # wrong passwords of one login from one address before it is slowed down
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,  # failed logins from one address, any logins, before it is slowed down
    "TRUSTED_PROXIES": 0,  # proxies (nginx) in front whose X-Forwarded-For/-Proto/-Host are believed
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,  # bytes (nginx: client_max_body_size 20m); larger: 413
    # Duplicate detection (RFC 5080): how long a reply is kept to answer a
    # retransmission with, and how many replies a worker keeps at most
    "RADIUS_DUPLICATE_SECONDS": 30,
    "RADIUS_DUPLICATE_ENTRIES": 65536,
    # An accounting record whose Event-Timestamp or Acct-Delay-Time is
    # further than this from now is a replay and is dropped; 0: not checked
    "RADIUS_EVENT_WINDOW": 86400,
    "WTF_CSRF_ENABLED": True,
    "TESTING": False,
    # Backups (`flask backup`, README "Backups"): where archives go (None:
    # instance/backups), how many daily and monthly ones are kept, and
    # whether the worker makes one every night (off when a systemd timer does)
    "BACKUP_DIR": None,
    "BACKUP_KEEP_DAILY": 7,
    "BACKUP_KEEP_MONTHLY": 12,
    "BACKUP_BY_WORKER": True,
    # gzip the archive (`.tar.gz`, fastest level): smaller, but compressing the
    # database costs more CPU than the rest of the backup; off: a plain `.tar`
    "BACKUP_GZIP": False,
    # /healthz and /metrics answer only these client addresses or networks
    "MONITORING_ALLOWED": ["127.0.0.1/32", "::1/128"],
    # /healthz reports "down" when the last backup is older than this (hours)
    "BACKUP_MAX_AGE_HOURS": 36,
    # Notifications (lanbill/notify/): e-mail over SMTP (no host: e-mails
    # wait in the outbox), SMS over a provider's HTTP API (a request
    # described here: URL, method, parameters with {phone} and {text}, a
    # success pattern the answer must contain; no URL: SMS wait), quiet
    # hours when no SMS goes out (operator's zone, "" for none), retries
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_FROM": "",
    "SMTP_STARTTLS": False,
    "SMTP_TIMEOUT": 30,
    "SMTP_CONNECTIONS": 4,  # connections the outbox sends over at once
    "SMS_URL": "",
    "SMS_METHOD": "POST",
    "SMS_PARAMS": {"to": "{phone}", "text": "{text}"},
    "SMS_FORMAT": "form",
    "SMS_SUCCESS": "",
    "SMS_TIMEOUT": 15,
    "NOTIFY_QUIET_HOURS": "22:00-09:00",
    "NOTIFY_MAX_ATTEMPTS": 8,
    "NOTIFY_BACKOFF": 60,
    "NOTIFY_BACKOFF_MAX": 6 * 3600,
    "NOTIFY_LOW_BALANCE_DAYS": 3,
}

# Environment variables that are read, with the config key they set.  Plain
# names are the ones the README documents; LANBILL_<KEY> works for any key.
ENV_ALIASES = {
    "DATABASE_URL": "DATABASE_URL",
    "HUEY_URL": "HUEY_URL",
}

_INT_KEYS = {
    "HTTP_PORT",
    "SESSION_MINUTES",
    "RADIUS_AUTH_PORT",
    "RADIUS_ACCT_PORT",
    "NETFLOW_PORT",
    "NETFLOW_MAX_EXPORTERS",
    "NETFLOW_MAX_DOMAINS_PER_EXPORTER",
    "NETFLOW_MAX_TEMPLATES_PER_DOMAIN",
    "NETFLOW_EXPORTER_IDLE_SECONDS",
    "NETFLOW_MAX_CLOCK_SKEW_SECONDS",
    "NETFLOW_MAX_SAMPLING_RATE",
    "LOGIN_MAX_FAILURES",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "TRUSTED_PROXIES",
    "MAX_CONTENT_LENGTH",
    "RADIUS_COA_MAX_ATTEMPTS",
    "RADIUS_COA_BACKOFF",
    "RADIUS_COA_BACKOFF_MAX",
    "RADIUS_DUPLICATE_SECONDS",
    "RADIUS_DUPLICATE_ENTRIES",
    "RADIUS_EVENT_WINDOW",
    "BACKUP_KEEP_DAILY",
    "BACKUP_KEEP_MONTHLY",
    "BACKUP_MAX_AGE_HOURS",
    "SMTP_PORT",
    "SMTP_TIMEOUT",
    "SMTP_CONNECTIONS",
    "SMS_TIMEOUT",
    "NOTIFY_MAX_ATTEMPTS",
    "NOTIFY_BACKOFF",
    "NOTIFY_BACKOFF_MAX",
    "NOTIFY_LOW_BALANCE_DAYS",
}
_FLOAT_KEYS = {"RADIUS_COA_TIMEOUT"}
_BOOL_KEYS = {"WTF_CSRF_ENABLED", "TESTING", "BACKUP_BY_WORKER", "SMTP_STARTTLS", "BACKUP_GZIP"}


def instance_path(overrides: dict | None = None) -> Path:
    """The instance folder: overrides, then LANBILL_INSTANCE, then ./instance."""
    if overrides and overrides.get("INSTANCE_PATH"):
        return Path(overrides["INSTANCE_PATH"]).resolve()
    env = os.environ.get("LANBILL_INSTANCE")
    return Path(env).resolve() if env else (ROOT / "instance")


def _coerce(key: str, value):
    if value is None:
        return None
    if key in _INT_KEYS:
        return int(value)
    if key in _FLOAT_KEYS:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"LANBILL_{key}: a number of seconds is expected, not {value!r}") from None
    if key in _BOOL_KEYS and isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return value


def load_settings(overrides: dict | None = None) -> dict:
    """Merge defaults, instance/config.py, the environment and overrides.

    Tests pass a dict (``overrides``) that wins over everything else.
    """
    settings = dict(DEFAULTS)
    folder = instance_path(overrides)
    settings["INSTANCE_PATH"] = str(folder)
    config_file = folder / "config.py"
    if config_file.exists():
        namespace: dict = {}
        exec(compile(config_file.read_text(), str(config_file), "exec"), namespace)
        settings.update({k: v for k, v in namespace.items() if k.isupper()})
    for key in DEFAULTS:
        env_value = os.environ.get("LANBILL_" + key)
        if env_value is not None:
            settings[key] = _coerce(key, env_value)
    for env_name, key in ENV_ALIASES.items():
        if os.environ.get(env_name):
            settings[key] = os.environ[env_name]
    if overrides:
        settings.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    if not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = "sqlite:///" + str(folder / "lanbill.db")
    if not settings.get("HUEY_URL"):
        settings["HUEY_URL"] = "sqlite:///" + str(folder / "huey.db")
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _secret_key(folder)
    if not settings.get("DATA_KEY"):
        settings["DATA_KEY"] = _data_key(folder)
    return settings


RADIUS_COA_KEYS = ("RADIUS_COA_TIMEOUT", "RADIUS_COA_MAX_ATTEMPTS", "RADIUS_COA_BACKOFF", "RADIUS_COA_BACKOFF_MAX")


def radius_coa_settings(config=None) -> dict:
    """The CoA settings: from `config` (an app's config) where it has them,
    else with load_settings' precedence (defaults, instance/config.py,
    LANBILL_* env) but reading only — for threads without an app, like
    the Huey worker's.  Refuses a value that is not a positive number."""
    found = {k: config.get(k) for k in RADIUS_COA_KEYS} if config is not None else {}
    if any(v is None for v in found.values()) or not found:
        merged = {k: DEFAULTS[k] for k in RADIUS_COA_KEYS}
        config_file = instance_path() / "config.py"
        if config_file.exists():
            namespace: dict = {}
            exec(compile(config_file.read_text(), str(config_file), "exec"), namespace)
            merged.update({k: namespace[k] for k in RADIUS_COA_KEYS if k in namespace})
        for key in RADIUS_COA_KEYS:
            if os.environ.get("LANBILL_" + key) is not None:
                merged[key] = _coerce(key, os.environ["LANBILL_" + key])
        found = {k: merged[k] if found.get(k) is None else found[k] for k in RADIUS_COA_KEYS}
    out = {}
    for key in RADIUS_COA_KEYS:
        value = _coerce(key, found[key]) if isinstance(found[key], str) else found[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{key}: a positive number is expected, not {found[key]!r}")
        out[key] = value
    return out


def _secret_key(folder: Path) -> str:
    """Generate the secret key once into the instance folder and reuse it."""
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _data_key(folder: Path) -> str:
    """The key that encrypts personal data and service passwords at rest.

    Kept apart from SECRET_KEY so that rotating session keys never makes
    stored data unreadable.  Back it up with the database.
    """
    path = folder / "data_key"
    if not path.exists():
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_text().strip()
