"""Notification tests run against a local SMTP server and a local fake SMS
provider, started for each test (tests/notify/harness.py)."""

from __future__ import annotations

import pytest

from tests.notify.harness import SmsServer, SmtpServer


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sms():
    server = SmsServer().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, smtp, sms):
    app_config.update({
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "SMTP_FROM": "billing@isp.example",
        "SMTP_TIMEOUT": 5, "SMS_URL": sms.url, "SMS_METHOD": "POST",
        "SMS_PARAMS": {"to": "{phone}", "text": "{text}", "key": "secret-key"},
        "SMS_SUCCESS": '"status": "OK"', "SMS_TIMEOUT": 5, "NOTIFY_QUIET_HOURS": "",
        "NOTIFY_BACKOFF": 60, "NOTIFY_BACKOFF_MAX": 3600, "NOTIFY_MAX_ATTEMPTS": 4,
    })
    return app_config


@pytest.fixture
def settings(app):
    from lanbill.notify.settings import notify_settings

    return notify_settings(app.config)
