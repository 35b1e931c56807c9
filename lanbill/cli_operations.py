"""`flask backup`, `flask backup verify`, `flask restore` and `flask import
subscribers`: thin commands over lanbill/operations (DESIGN §14)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale, gettext

from lanbill.errors import BillingError

import_cli = AppGroup("import", help="Import data from another billing.")


def register(app) -> None:
    app.cli.add_command(backup_group)
    app.cli.add_command(restore_command)
    app.cli.add_command(import_cli)


def _message(exc) -> str:
    """A domain refusal in the UI language (Russian unless configured)."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "ru"):
        return gettext(exc.message, **exc.params)


@click.group("backup", invoke_without_command=True)
@click.option("--to", "target", type=click.Path(file_okay=False), default=None,
              help="Folder to write the archive to (default BACKUP_DIR, where retention applies).")
@click.pass_context
def backup_group(ctx, target):
    """Back up the database, keys, uploads and documents into one archive."""
    if ctx.invoked_subcommand is not None:
        return
    from lanbill.operations.backup import BackupError, create_backup

    try:
        result = create_backup(current_app.config, target, version=current_app.config["LANBILL_VERSION"])
    except BackupError as exc:
        raise click.ClickException(_message(exc)) from None
    rows = sum(result.manifest["tables"].values())
    click.echo(f"backup: {result.path} ({result.path.stat().st_size} bytes, {rows} rows, "
               f"{len(result.manifest['parts'])} parts)")
    for path in result.pruned:
        click.echo(f"removed by retention: {path.name}")


@backup_group.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False))
def backup_verify(archive):
    """Restore ARCHIVE into a scratch place, compare row counts with its
    manifest and run the ledger check; non-zero exit on any difference."""
    from lanbill.operations.backup import BackupError, verify_backup

    try:
        result = verify_backup(archive, current_app.config)
    except BackupError as exc:
        raise click.ClickException(_message(exc)) from None
    for table, (expected, found) in sorted(result.mismatched.items()):
        click.echo(f"table {table}: {expected} rows in the manifest, {found} restored", err=True)
    for agreement_id, number, balance, total in result.ledger_errors:
        click.echo(f"agreement {agreement_id} ({number}): balance {balance} != ledger {total}", err=True)
    if not result.ok:
        sys.exit(1)
    click.echo(f"ok: {archive} — {len(result.counts)} tables, {sum(result.counts.values())} rows as in "
               f"the manifest, every balance equals the sum of its ledger")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an instance that already holds data.")
def restore_command(archive, force):
    """Restore ARCHIVE (made by `flask backup`) into this instance, then
    apply the migrations of this version."""
    from lanbill.operations.backup import BackupError, restore_backup

    try:
        result = restore_backup(archive, current_app.config, force=force)
    except BackupError as exc:
        raise click.ClickException(_message(exc)) from None
    manifest = result["manifest"]
    click.echo(f"restored: {archive} (made {manifest['created_at']} by version {manifest['lanbill_version']})")
    click.echo("migrations applied: " + (", ".join(result["migrations"]) or "none"))
    click.echo("The keys were restored into the instance folder; if DATA_KEY or SECRET_KEY is set in "
               "config.py or the environment, set it to the restored value.")


@import_cli.command("subscribers")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--mapping", "mapping_file", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The column mapping (JSON; see deploy/import-examples/).")
@click.option("--dry-run", is_flag=True, help="Check every row and report; save nothing.")
def import_subscribers_command(file, mapping_file, dry_run):
    """Import subscribers, agreements, accounts and opening balances from a
    CSV or XLSX FILE: all rows or none; rows already imported are reported
    as duplicates."""
    from pathlib import Path

    from lanbill.actor import Actor
    from lanbill.operations.imports import import_subscribers, load_mapping, read_table

    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "ru"):
        try:
            table = read_table(file, Path(file).read_bytes())
            mapping = load_mapping(Path(mapping_file).read_text(encoding="utf-8"))
            with click.progressbar(length=len(table.rows), label="rows", file=sys.stderr) as bar:
                last = [0]

                def progress(done, total):
                    bar.update(done - last[0])
                    last[0] = done

                report = import_subscribers(table, mapping, actor=Actor("cli:import"), dry_run=dry_run,
                                            source=Path(file).name, progress=progress)
        except BillingError as exc:
            raise click.ClickException(gettext(exc.message, **exc.params)) from None
        for problem in report.errors:
            where = f" [{problem.field}]" if problem.field else ""
            click.echo(f"line {problem.line}{where}: {gettext(problem.message, **problem.params)}", err=True)
    if report.error_count > report.rows_kept:
        click.echo(f"... and {report.error_count - report.rows_kept} more rows with errors", err=True)
    verb = "would create" if dry_run or not report.ok else "created"
    click.echo(f"{report.rows} rows: {verb} {report.subscribers} subscribers, {report.agreements} agreements, "
               f"{report.accounts} accounts, {report.balances} opening balances; "
               f"{len(report.duplicates)} duplicates skipped; {report.error_count} rows with errors")
    if not report.ok:
        click.echo("nothing was imported: fix the rows above (all rows or none)", err=True)
        sys.exit(1)
    if dry_run:
        click.echo("dry run: nothing was saved")
