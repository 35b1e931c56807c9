"""`flask --app app …` commands: init, db upgrade, check, token, manager
password, agents, worker, demo, start (all-in-one).

The all-in-one command is `start`, not `run`: Flask's own `run` (the
development server) is looked up before an app's commands and would shadow it.

Each command imports what only it needs inside its body: every `flask`
call creates the app and registers all commands, and should not load the
migrations, the agents, the worker or the demo generator to do so.
"""

from __future__ import annotations

import logging
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale, gettext

from lanbill import cli_operations
from lanbill.db import connection
from lanbill.money import money_str

db_cli = AppGroup("db", help="Database schema.")
token_cli = AppGroup("token", help="API tokens.")
manager_cli = AppGroup("manager", help="Managers (staff).")
documents_cli = AppGroup("documents", help="Documents: the monthly acts and VAT invoices.")


def register(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(db_cli)
    app.cli.add_command(check_command)
    app.cli.add_command(token_cli)
    app.cli.add_command(manager_cli)
    app.cli.add_command(agents_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(run_all_command)
    app.cli.add_command(bill_command)
    app.cli.add_command(demo_command)
    cli_operations.register(app)  # backup, restore, import
    app.cli.add_command(registry_cli)
    app.cli.add_command(receipts_cli)
    app.cli.add_command(autopay_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(reports_cli)


@click.command("init")
@with_appcontext
def init_command():
    """Create the schema and the first operator, currency, group and admin;
    print admin's one-time password when it is given."""
    from lanbill.first_run import initialize, remember_first_password

    result = initialize(current_app.config.get("BABEL_DEFAULT_LOCALE", "ru"))
    click.echo("initialised: " + (", ".join(result.created) if result.created else "nothing to do"))
    if result.admin_password:
        remember_first_password(current_app.instance_path, result.admin_password)
        click.echo(f"Log in as admin with the one-time password {result.admin_password} "
                   "(the first thing asked is a new one).")


@manager_cli.command("password")
@click.argument("login")
def manager_password(login):
    """Give a manager a new one-time password and print it (a forgotten
    password, or a manager left without one); the manager's sessions end."""
    from lanbill.actor import Actor
    from lanbill.models import Manager
    from lanbill.staff.managers import give_one_time_password

    manager = Manager.get_or_none(Manager.login == login)
    if manager is None:
        raise click.ClickException(f"no manager {login!r}")
    password = give_one_time_password(manager.id, actor=Actor("cli"))
    click.echo(f"One-time password of {login}: {password} (the first thing asked is a new one).")


@db_cli.command("upgrade")
def db_upgrade():
    """Apply pending numbered migrations."""
    from lanbill.migrations import upgrade_database

    ran = upgrade_database()
    click.echo("applied: " + (", ".join(ran) if ran else "nothing, schema is current"))


@click.command("check")
def check_command():
    """Verify balance = sum(ledger) for every agreement; non-zero exit on any
    difference (DESIGN §4)."""
    from lanbill.billing.ledger import check_invariant

    wrong = check_invariant()
    for agreement_id, number, balance, total in wrong:
        click.echo(f"agreement {agreement_id} ({number}): balance {money_str(balance)} != ledger {money_str(total)}",
                   err=True)
    if wrong:
        sys.exit(1)
    click.echo("ok: every balance equals the sum of its ledger")


@token_cli.command("create")
@click.option("--manager", "login", required=True, help="Manager login the token acts as.")
@click.option("--name", default="", help="A note to recognise the token by.")
@click.option("--scope", type=click.Choice(["full", "read"]), default="full", show_default=True,
              help="read: the token may only read (GET).")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Expire after this many days.")
def token_create(login, name, scope, days):
    """Create an API token and print it (it is shown only once)."""
    import datetime as dt

    from lanbill.clock import now_utc
    from lanbill.models import Manager
    from lanbill.staff.tokens import create_token

    manager = Manager.get_or_none(Manager.login == login)
    if manager is None:
        raise click.ClickException(f"no manager {login!r}")
    expires_at = now_utc() + dt.timedelta(days=days) if days else None
    click.echo(create_token(manager, name=name, scope=scope, expires_at=expires_at))


@token_cli.command("list")
def token_list():
    """List API tokens: id, manager, name, scope, expiry, last use, revoked."""
    from lanbill.models import ApiToken, Manager

    rows = ApiToken.select(ApiToken, Manager).join(Manager).order_by(ApiToken.id)
    for row in rows:
        state = "revoked " + row.revoked_at.isoformat(" ", "minutes") if row.revoked_at else "live"
        expires = row.expires_at.isoformat(" ", "minutes") if row.expires_at else "never"
        used = row.last_used_at.isoformat(" ", "minutes") if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.manager.login}\t{row.name or '-'}\t{row.scope}\t"
                   f"expires {expires}\tused {used}\t{state}")


@token_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def token_revoke(token_id):
    """Revoke an API token by its id (see `token list`); it stops working at once."""
    from lanbill.actor import Actor
    from lanbill.errors import NotFound
    from lanbill.staff.tokens import revoke_token

    try:
        revoke_token(token_id, actor=Actor("cli"))
    except NotFound:
        raise click.ClickException(f"no API token {token_id}") from None
    click.echo(f"revoked: {token_id}")


@click.command("agents")
def agents_command():
    """Run every enabled agent (RADIUS, NetFlow) until SIGTERM/Ctrl-C."""
    from agents.runner import run_agents

    run_agents(current_app)


@click.command("worker")
@click.option("--workers", default=2, show_default=True)
def worker_command(workers):
    """Run the Huey consumer: periodic billing jobs, outbox, retries."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [worker] %(levelname)s %(name)s: %(message)s")
    import lanbill.jobs  # noqa: F401  (registers the periodic tasks)
    from lanbill.tasks import huey

    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


@click.command("demo")
@click.option("--subscribers", "count", default=1000, show_default=True, type=click.IntRange(1, 2_000_000),
              help="How many subscribers to add.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same day: same data.")
@click.option("--months", default=12, show_default=True, type=click.IntRange(0, 60),
              help="Months of rent and payments before the current one.")
def demo_command(count, seed, months):
    """Fill the database with a realistic demo ISP (adds to what is there)."""
    from lanbill.demo import generate

    result = generate(count, seed=seed, months=months, echo=click.echo)
    # Build the subscriber search index now, so that the first search on
    # the screens is not the one that pays for indexing the whole import.
    from lanbill.customers import search_index

    started = time.perf_counter()
    indexed = search_index.refresh()
    click.echo(f"  search index: {indexed} subscribers in {time.perf_counter() - started:.1f} s")
    # and the reports' aggregated figures, so the first report screen is as fast as the next
    from lanbill.reports import totals

    started = time.perf_counter()
    with connection():
        totals.rebuild()
    click.echo(f"  report totals: {time.perf_counter() - started:.1f} s")
    click.echo(result.summary())


@click.command("start")
def run_all_command():
    """Web + agents + worker in one supervisor (the embedded default);
    Ctrl-C stops all of them."""
    from lanbill.supervisor import run_all

    sys.exit(run_all(current_app.config))


@click.command("bill")
def bill_command():
    """Do all billing due as of now (rent, corrections, planned tariff
    changes, promised payments, services) and exit — the worker's job."""
    from lanbill.billing.run import ALREADY_RUNNING, run_due

    with connection():
        result = run_due()
    if result.already_running:
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "ru"):
            click.echo(gettext(ALREADY_RUNNING), err=True)
        sys.exit(1)
    click.echo(result.summary())
    for account_id, message in result.errors:
        click.echo(f"account {account_id}: {message}", err=True)


# --- payment registries and 54-FZ receipts ------------------------------------------------------

registry_cli = AppGroup("registry", help="Payment registries and 1C bank statements.")
receipts_cli = AppGroup("receipts", help="54-FZ receipts (ATOL Online).")


@registry_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--system", "code", required=True, help="The code of a payment system of kind registry.")
@click.option("--dry-run", is_flag=True, help="Check every row and book nothing.")
def registry_import(path, code, dry_run):
    """Upload a registry file for a payment system: the dry run, then (without
    --dry-run) posting in one transaction.  A --dry-run check is kept as a
    discarded registry.  Exit status 1 when nothing is booked because the
    file or its control total is wrong."""
    from pathlib import Path

    from lanbill.actor import Actor
    from lanbill.errors import BillingError
    from lanbill.models.paysys import PaymentSystem
    from lanbill.paysys import registry_booking

    def progress(done, total):
        click.echo(f"\r  checked {done} of {total} rows", nl=done >= total)

    with connection(), force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "ru"):
        system = PaymentSystem.get_or_none(PaymentSystem.code == code)
        if system is None:
            raise click.ClickException(f"no payment system {code!r}")
        actor = Actor("cli:registry", is_staff=True)
        try:
            registry = registry_booking.start_import(system, Path(path).name, Path(path).read_bytes(), actor=actor)
            registry = registry_booking.read_import(registry.id, progress=progress)
        except BillingError as exc:
            text = gettext(exc.message, **exc.params) if exc.params else gettext(exc.message)
            raise click.ClickException(text) from None
        if registry.status == "failed":
            click.echo(gettext(registry.error) + (f" ({registry.error_detail})" if registry.error_detail else ""),
                       err=True)
            sys.exit(1)
        _print_registry(registry)
        if dry_run:
            registry_booking.discard_import(registry.id, actor=actor)  # a check: its rows wait for nobody
            click.echo(f"registry {registry.id}: dry run, nothing booked")
            return
        try:
            registry = registry_booking.post_import(registry.id, actor=actor)
        except BillingError as exc:
            click.echo(gettext(exc.message, **exc.params) if exc.params else gettext(exc.message), err=True)
            sys.exit(1)
        click.echo(f"registry {registry.id}: posted, {registry.booked_count} payments, "
                   f"{money_str(registry.booked_amount)}")


def _print_registry(registry) -> None:
    from lanbill.models.registries import RegistryRow

    for row in RegistryRow.select().where(RegistryRow.registry == registry.id).order_by(RegistryRow.line):
        reason = (gettext(row.reason) + (f" {row.reason_detail}" if row.reason_detail else "")) if row.reason else ""
        amount = money_str(row.amount) if row.amount is not None else "-"
        click.echo(f"  line {row.line}: {row.status} {amount} {row.account_text or ''} {reason}".rstrip())
    click.echo(f"rows {registry.rows_total}: matched {registry.matched_count} ({money_str(registry.matched_amount)}), "
               f"duplicates {registry.duplicate_count}, unmatched {registry.unmatched_count}")
    if registry.same_file_as:
        click.echo(f"the same file was uploaded before as registry {registry.same_file_as}")


@receipts_cli.command("send")
def receipts_send():
    """Send the 54-FZ receipts that are due and fetch their results now
    (the worker does it every minute)."""
    from lanbill.paysys.receipts import send_due

    with connection():
        summary = send_due()
    click.echo("receipts: sent {sent}, done {done}, retried later {retried}, failed {failed}".format(
        **summary.as_dict()))
@click.command("autopay")
@click.option("--day", default=None, help="Run as of this day (YYYY-MM-DD); default today.")
def autopay_command(day):
    """Charge saved ЮKassa cards for autopayment now (the worker does it
    hourly): agreements whose funds do not cover the next month."""
    import datetime as dt

    from lanbill.paysys.autopay import run_autopayments

    with connection():
        result = run_autopayments(day=dt.date.fromisoformat(day) if day else None)
    click.echo(result.summary())
outbox_cli = AppGroup("outbox", help="Notifications: the e-mail and SMS outbox.")


@outbox_cli.command("send")
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=None, help="Send at most this many.")
def outbox_send(limit):
    """Send every e-mail and SMS due now (the worker does it every minute)."""
    from lanbill.clock import now_utc
    from lanbill.models.notify import OutboxMessage
    from lanbill.notify import outbox
    from lanbill.notify.settings import notify_settings

    with connection():
        due = OutboxMessage.select().where((OutboxMessage.status == "queued")
                                           & (OutboxMessage.next_attempt_at <= now_utc())).count()
        total = min(due, limit) if limit else due
        with click.progressbar(length=total, label="sending", file=sys.stderr) as bar:
            result = outbox.send_due(notify_settings(current_app.config), limit=limit, progress=bar.update)
    click.echo(result.summary())
    for message_id, error in result.errors[:20]:
        click.echo(f"message {message_id}: {error}", err=True)


@outbox_cli.command("nightly")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Evaluate as of this local date (default today).")
def outbox_nightly(day):
    """Queue the low-balance warnings and tomorrow's tariff changes now
    (the worker does it every night)."""
    from lanbill.notify.nightly import run_nightly
    from lanbill.notify.settings import notify_settings

    with connection():
        click.echo(run_nightly(notify_settings(current_app.config), day=day.date() if day else None))
@documents_cli.command("issue")
@click.option("--month", required=True, help="The month, YYYY-MM (e.g. 2026-11).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes rendering PDFs (default: the CPU cores).")
def documents_issue(month, workers):
    """Issue the month's acts (and VAT invoices) for the agreements that
    want them; re-running issues nothing twice, an interrupted run resumes."""
    import os

    from lanbill.actor import job
    from lanbill.documents import monthly
    from lanbill.errors import BillingError

    workers = workers or os.cpu_count() or 1
    with connection():
        try:
            run = monthly.start_run(month, actor=job("documents"))
        except BillingError as exc:
            raise click.ClickException(exc.message) from None
        with click.progressbar(length=1, label=f"documents {month}", show_pos=True) as bar:
            def progress(done, total):
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            result = monthly.run_month(month, actor=job("documents"), instance_path=current_app.instance_path,
                                       workers=workers, database_url=current_app.config["DATABASE_URL"],
                                       progress=progress, run=run)
    click.echo(result.summary())
    for agreement_id, message in result.errors:
        click.echo(f"agreement {agreement_id}: {message}", err=True)
    if result.errors:
        sys.exit(1)


@documents_cli.command("template-add")
@click.option("--kind", required=True, help="invoice, prepayment_invoice, act, vat_invoice, upd, reconciliation")
@click.option("--name", required=True, help="What staff see in the list.")
@click.option("--file", "file_name", required=True,
              help="An HTML file in instance/templates/documents/ (or the product's templates/documents/).")
def documents_template_add(kind, name, file_name):
    """Add a template variant staff may choose when issuing a document."""
    from lanbill.actor import Actor
    from lanbill.documents.variants import add_variant
    from lanbill.errors import BillingError

    with connection():
        try:
            variant = add_variant(kind, name, file_name, actor=Actor("cli"), instance_path=current_app.instance_path)
        except BillingError as exc:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message) from None
    click.echo(f"template {variant.id}: {variant.name} ({variant.kind}, {variant.file})")


@documents_cli.command("templates")
def documents_templates():
    """List the template variants."""
    from lanbill.documents.variants import variants

    with connection():
        for variant in variants():
            click.echo(f"{variant.id}\t{variant.kind}\t{variant.file}\t{variant.name}"
                       + ("" if variant.is_active else "\t(inactive)"))


reports_cli = AppGroup("reports", help="Reports: the pre-aggregated figures they read.")


@reports_cli.command("rebuild")
def reports_rebuild():
    """Recompute the reports' aggregated figures from the ledger and the payments."""
    from lanbill.reports import totals

    started = time.perf_counter()
    with connection():
        done = totals.rebuild()
    click.echo(f"report totals: {done['agreements']} agreements in {done['cells']} cells, {done['months']} months, "
               f"{done['days']} days of payments in {time.perf_counter() - started:.1f} s")


@reports_cli.command("refresh")
def reports_refresh():
    """Fold what changed since the last refresh into the aggregated figures (the worker does it every 10 minutes)."""
    from lanbill.reports import totals

    with connection():
        done = totals.refresh()
    click.echo("report totals: " + ", ".join(f"{k} {v}" for k, v in done.items()))
