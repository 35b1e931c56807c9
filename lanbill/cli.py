"""`flask --app app …` commands: init, db upgrade, check, token, agents,
worker, demo, start (all-in-one).

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
from flask.cli import AppGroup
from flask_babel import force_locale, gettext

from lanbill.db import connection
from lanbill.money import money_str

db_cli = AppGroup("db", help="Database schema.")
token_cli = AppGroup("token", help="API tokens.")


def register(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(db_cli)
    app.cli.add_command(check_command)
    app.cli.add_command(token_cli)
    app.cli.add_command(agents_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(run_all_command)
    app.cli.add_command(bill_command)
    app.cli.add_command(demo_command)


@click.command("init")
def init_command():
    """Create the schema and the first operator, currency, group and admin."""
    from lanbill.first_run import initialize

    created = initialize()
    click.echo("initialised: " + (", ".join(created) if created else "nothing to do"))


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
def token_create(login, name):
    """Create an API token and print it (it is shown only once)."""
    from lanbill.models import Manager
    from lanbill.staff.tokens import create_token

    manager = Manager.get_or_none(Manager.login == login)
    if manager is None:
        raise click.ClickException(f"no manager {login!r}")
    click.echo(create_token(manager, name=name))


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
