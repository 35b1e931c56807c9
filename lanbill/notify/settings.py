"""The notification settings (lanbill/config.py: SMTP_*, SMS_*, NOTIFY_*)
read from an app's config or, in the worker, from the settings files."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from lanbill.config import DEFAULTS, load_settings

KEYS = tuple(k for k in DEFAULTS if k.startswith(("SMTP_", "SMS_", "NOTIFY_")))


@dataclass(frozen=True)
class NotifySettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = False
    smtp_timeout: float = 30
    smtp_connections: int = 4
    sms_url: str = ""
    sms_method: str = "POST"
    sms_params: dict = field(default_factory=dict)
    sms_format: str = "form"
    sms_success: str = ""
    sms_timeout: float = 15
    quiet_hours: tuple[dt.time, dt.time] | None = None
    max_attempts: int = 8
    backoff: float = 60
    backoff_max: float = 6 * 3600
    low_balance_days: int = 3

    def backoff_after(self, attempts: int) -> dt.timedelta:
        """The wait after the n-th failed attempt: backoff, 2×, 4× … at
        most backoff_max (exponential back-off)."""
        return dt.timedelta(seconds=min(self.backoff_max, self.backoff * 2 ** min(30, max(0, attempts - 1))))


def parse_quiet_hours(text: str | None) -> tuple[dt.time, dt.time] | None:
    """"22:00-09:00" → (22:00, 09:00); "" → None (no quiet hours).
    Refuses anything else with a ValueError naming the setting."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"NOTIFY_QUIET_HOURS: HH:MM-HH:MM is expected, not {text!r}") from None
    return (start, end) if start != end else None


def notify_settings(config: Mapping | None = None) -> NotifySettings:
    """The settings from `config` (an app's config), else from the settings
    files and environment (the worker)."""
    if config is None or any(k not in config for k in KEYS):
        base = load_settings()
        config = {**base, **(dict(config) if config is not None else {})}
    params = config["SMS_PARAMS"]
    if isinstance(params, str):
        params = json.loads(params) if params.strip() else {}
    return NotifySettings(
        smtp_host=config["SMTP_HOST"] or None,
        smtp_port=int(config["SMTP_PORT"]),
        smtp_user=config["SMTP_USER"] or "",
        smtp_password=config["SMTP_PASSWORD"] or "",
        smtp_from=config["SMTP_FROM"] or "",
        smtp_starttls=bool(config["SMTP_STARTTLS"]),
        smtp_timeout=float(config["SMTP_TIMEOUT"]),
        smtp_connections=int(config["SMTP_CONNECTIONS"]),
        sms_url=config["SMS_URL"] or "",
        sms_method=(config["SMS_METHOD"] or "POST").upper(),
        sms_params=dict(params or {}),
        sms_format=config["SMS_FORMAT"] or "form",
        sms_success=config["SMS_SUCCESS"] or "",
        sms_timeout=float(config["SMS_TIMEOUT"]),
        quiet_hours=parse_quiet_hours(config["NOTIFY_QUIET_HOURS"]),
        max_attempts=int(config["NOTIFY_MAX_ATTEMPTS"]),
        backoff=float(config["NOTIFY_BACKOFF"]),
        backoff_max=float(config["NOTIFY_BACKOFF_MAX"]),
        low_balance_days=int(config["NOTIFY_LOW_BALANCE_DAYS"]),
    )
