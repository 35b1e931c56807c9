"""Periodic jobs for the worker (each a few lines calling a domain room)."""

from huey import crontab

from agents.radius.coa import send_batch
from lanbill.billing.run import run_due
from lanbill.billing.time_charging import charge_time, move_radius_volume
from lanbill.billing.usage import charge_all, charge_recent
from lanbill.clock import local_now
from lanbill.db import connection
from lanbill.network import coa
from lanbill.network.traffic_stats import purge_old_traffic as purge_traffic
from lanbill.notify import outbox
from lanbill.notify.nightly import run_nightly
from lanbill.notify.settings import notify_settings
from lanbill.tasks import huey


@huey.periodic_task(crontab(minute="*/5"), retries=0)
def billing_run():
    """Every five minutes, 00:00 included: all billing due as of now
    (the same function as `flask --app app bill`)."""
    with connection():
        return run_due().summary()


# --- RADIUS: CoA / Disconnect retries (DESIGN §5, §7) ---------------------------


@huey.periodic_task(crontab(minute="*"), retries=0)
def retry_radius_coa():
    """Retry pending CoA/Disconnect requests whose backoff has passed,
    until the NAS answers ACK or NAK (lanbill/network/coa.py); the
    RADIUS_COA_* settings from the settings files and environment."""
    with connection():
        return coa.retry_due(send_batch, rules=coa.retry_policy())


@huey.task()
def send_radius_coa(request_id: int, settings: dict | None = None):
    """Send one queued request now (the "disconnect" button); `settings`
    are the RADIUS_COA_* of the caller, else the settings files'."""
    with connection():
        return coa.send_now(request_id, send_batch, rules=coa.retry_policy(settings)).status


@huey.periodic_task(crontab(minute="*/5"), retries=0)
def charge_radius_usage():
    """Time charges of per-minute tariffs and RADIUS volume into hourly
    counters, from the online-sessions table (lanbill/billing/time_charging.py)."""
    with connection():
        return {"sessions_moved": move_radius_volume(), "time_entries": charge_time()}


@huey.periodic_task(crontab(minute="*/10"), retries=0)
def charge_volume():
    """Every ten minutes: the volume of accounts whose traffic grew, beyond
    the prepaid volume, charged per category, and the traffic-limit block
    set (lanbill/billing/usage.py)."""
    with connection():
        result = charge_recent()
        return {"accounts": result.accounts, "posted": str(result.posted), "blocked": result.blocked,
                "errors": result.errors}


@huey.periodic_task(crontab(minute="30", hour="0"), retries=0)
def charge_volume_nightly():
    """Nightly: every account with traffic this month (the prepaid volume
    shrinks with blocked days) and traffic blocks lifted in a new month."""
    with connection():
        result = charge_all()
        return {"accounts": result.accounts, "posted": str(result.posted), "blocked": result.blocked,
                "lifted": result.lifted, "errors": result.errors}


@huey.periodic_task(crontab(minute="40", hour="3"), retries=0)
def purge_old_traffic():
    """Nightly: hourly and detailed traffic older than its retention
    (settings traffic.hourly_days, traffic.detail_days) is deleted."""
    with connection():
        hourly, detail = purge_traffic()
        return {"hourly": hourly, "detail": detail}


# --- notifications: the outbox and the nightly notices (DESIGN §12) ------------


@huey.periodic_task(crontab(minute="*"), retries=0)
def send_outbox():
    """Every minute: e-mails and SMS due now, with retries and back-off
    (lanbill/notify/outbox.py); settings from the settings files."""
    with connection():
        return outbox.send_due(notify_settings()).summary()


@huey.periodic_task(crontab(minute="15"), retries=0)
def notify_nightly():
    """Once a day at 10:15 operator's local time (Huey's schedule is UTC, so
    it wakes hourly and acts in that hour), after the night's billing and
    outside the quiet hours: the low-balance warnings and tomorrow's tariff
    changes (lanbill/notify/nightly.py).  Idempotent: a repeat queues nothing."""
    if local_now().hour != 10:
        return None
    with connection():
        return run_nightly(notify_settings())
