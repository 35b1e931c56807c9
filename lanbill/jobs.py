"""Periodic jobs for the worker (each a few lines calling a domain room)."""

import datetime as dt
import os

from huey import crontab

from agents.radius.coa import send_batch
from lanbill.actor import job
from lanbill.billing.run import run_due
from lanbill.billing.time_charging import charge_time, move_radius_volume
from lanbill.billing.usage import charge_all, charge_recent
from lanbill.clock import today
from lanbill.config import load_settings
from lanbill.db import connection
from lanbill.documents import monthly
from lanbill.models import DocumentRun
from lanbill.network import coa
from lanbill.network.traffic_stats import purge_old_traffic as purge_traffic
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


@huey.periodic_task(crontab(minute="0", hour="3", day="1"), retries=0)
def issue_monthly_documents():
    """On the 1st at 03:00 (after the night's billing): last month's acts and
    VAT invoices for the agreements that want them (lanbill/documents/monthly.py)."""
    settings = load_settings()
    last_month = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    with connection():
        return monthly.run_month(last_month, actor=job("documents"), instance_path=settings["INSTANCE_PATH"],
                                 workers=os.cpu_count() or 1, database_url=settings["DATABASE_URL"]).summary()


@huey.task()
def issue_documents_for_month(month: str, run_id: int, instance_path: str, database_url: str):
    """The staff screen's "issue now" (the same run as `flask documents issue`)."""
    with connection():
        run = DocumentRun.get_by_id(run_id)
        return monthly.run_month(month, actor=job("documents"), instance_path=instance_path,
                                 workers=os.cpu_count() or 1, database_url=database_url, run=run).summary()
