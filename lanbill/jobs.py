"""Periodic jobs for the worker (each a few lines calling a domain room)."""

import datetime as dt
import os
from pathlib import Path

from huey import crontab

from agents.radius.coa import send_batch
from lanbill import __version__
from lanbill.actor import job
from lanbill.billing.run import run_due
from lanbill.billing.time_charging import charge_time, move_radius_volume
from lanbill.billing.usage import charge_all, charge_recent
from lanbill.clock import local_now, today
from lanbill.config import load_settings
from lanbill.db import connection
from lanbill.documents import monthly
from lanbill.models import DocumentRun
from lanbill.network import coa
from lanbill.network.traffic_stats import purge_old_traffic as purge_traffic
from lanbill.notify import outbox
from lanbill.notify.nightly import run_nightly
from lanbill.notify.settings import notify_settings
from lanbill.operations import backup as operations_backup
from lanbill.operations import health as operations_health
from lanbill.operations import imports as operations_imports
from lanbill.paysys import receipts, registry_booking
from lanbill.paysys.autopay import run_autopayments
from lanbill.reports import totals as report_totals
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


# --- operations: heartbeat and the nightly backup (DESIGN §14) -----------------


@huey.periodic_task(crontab(minute="*"), retries=0)
def worker_heartbeat():
    """Every minute: the worker is alive (/healthz shows its age)."""
    with connection():
        operations_health.beat()


@huey.periodic_task(crontab(minute="15", hour="2"), retries=0)
def nightly_backup():
    """02:15 (Huey's clock, UTC): `flask backup` into BACKUP_DIR with its
    retention, unless BACKUP_BY_WORKER is off (a systemd timer does it)."""
    settings = load_settings()
    if not settings.get("BACKUP_BY_WORKER", True):
        return None
    with connection():
        return str(operations_backup.create_backup(settings, version=__version__).path)


@huey.task()
def run_import(folder: str, actor):
    """Run an import kept in an instance folder (the admin's import screen),
    writing its progress and report beside the file."""
    with connection():
        return operations_imports.run_stored(Path(folder), actor=actor)["status"]
# --- payment registries and 54-FZ receipts (DESIGN §11) ----------------------------------------


@huey.task()
def read_registry(registry_id: int):
    """The dry run of an uploaded registry, its progress on the upload's
    page (lanbill/paysys/registry_booking.py)."""
    with connection():
        return registry_booking.read_import(registry_id).status


@huey.task()
def post_registry(registry_id: int, actor):
    """Book a registry claimed for posting, in one transaction; a failure
    gives the claim back with the reason shown on the page."""
    with connection():
        try:
            return registry_booking.post_import(registry_id, actor=actor).status
        except Exception as exc:
            registry_booking.reset_after_failed_post(registry_id, exc)
            raise


@huey.periodic_task(crontab(minute="*"), retries=0)
def send_receipts():
    """Every minute: 54-FZ receipts due to ATOL Online, with back-off
    (lanbill/paysys/receipts.py; the same as `flask receipts send`)."""
    with connection():
        return receipts.send_due().as_dict()
# --- payments from outside: autopayment from a saved card (DESIGN §11) --------------


@huey.periodic_task(crontab(minute="15"), retries=0)
def autopayments():
    """Hourly: charge saved ЮKassa cards of agreements whose funds do not
    cover the next month, N days before the monthly charge; a failed
    charge is retried at the next run once (lanbill/paysys/autopay.py)."""
    with connection():
        return run_autopayments().summary()
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


@huey.periodic_task(crontab(minute="*/10"), retries=0)
def refresh_report_totals():
    """Every ten minutes: fold the ledger entries, payments, cancellations
    and group/tariff moves since the last run into the reports'
    aggregated figures (lanbill/reports/totals.py), so the part a report
    reads raw stays small."""
    with connection():
        return report_totals.refresh()
