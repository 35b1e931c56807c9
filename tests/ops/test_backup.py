"""Backups (DESIGN §14): an archive made while payments arrive restores to
exactly its manifest; a damaged archive is refused with a clear message;
a non-empty instance is not overwritten without --force; retention keeps
N daily and M monthly archives; a restore onto newer code migrates."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import tarfile
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from lanbill.billing.ledger import check_invariant
from lanbill.billing.payments import post_payment
from lanbill.db import connection, database
from lanbill.models import Agreement, Payment, Setting
from lanbill.operations import backup
from lanbill.operations.backup import BackupError
from tests.factories import ACTOR, make_agreement


class PaymentStream:
    """A thread booking 10.00 payments onto a few agreements until stopped,
    as the web and the payment gateways do while a backup runs."""

    def __init__(self, agreements):
        self.ids = [a.id for a in agreements]
        self.stop = threading.Event()
        self.started = threading.Event()
        self.count = 0
        self.errors = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            with connection():
                while not self.stop.is_set():
                    post_payment(self.ids[self.count % len(self.ids)], "10.00", f"BK-{self.count}", actor=ACTOR)
                    self.count += 1
                    if self.count >= 5:
                        self.started.set()
        except Exception as exc:  # noqa: BLE001 — reported by the test
            self.errors.append(repr(exc))
            self.started.set()

    def __enter__(self):
        self.thread.start()
        assert self.started.wait(60)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)


def test_round_trip_while_payments_arrive(app, tmp_path, empty_instance):
    agreements = [make_agreement() for _ in range(3)]
    with PaymentStream(agreements) as stream:
        result = backup.create_backup(app.config, tmp_path / "out", version="test")
        during = stream.count
        while stream.count < during + 5 and not stream.errors:
            pass  # payments go on after the snapshot
    assert stream.errors == []
    manifest = result.manifest
    in_backup = manifest["tables"]["payment"]
    assert 5 <= in_backup < stream.count == Payment.select().count()
    assert result.path.stat().st_mode & 0o777 == 0o600
    assert set(manifest["parts"]) >= {"keys/data_key", "keys/secret_key"}
    assert manifest["last_migration"] == max(manifest["schema_migrations"])

    verified = backup.verify_backup(result.path, app.config)
    assert verified.ok, (verified.mismatched, verified.ledger_errors)
    assert verified.counts["payment"] == in_backup

    restored = backup.restore_backup(result.path, empty_instance)
    assert restored["migrations"] == []
    with backup.bound_to(empty_instance["DATABASE_URL"]):
        assert Payment.select().count() == in_backup
        assert check_invariant() == []
        total = sum((a.balance for a in Agreement.select()), Decimal(0))
        assert total == Decimal("10.00") * in_backup
    folder = Path(empty_instance["INSTANCE_PATH"])
    assert (folder / "data_key").read_text().strip() == app.config["DATA_KEY"]
    assert (folder / "data_key").stat().st_mode & 0o777 == 0o600


def test_uploads_and_documents_travel_with_the_database(app, tmp_path, empty_instance):
    instance = Path(app.config["INSTANCE_PATH"])
    (instance / "uploads" / "tickets").mkdir(parents=True)
    (instance / "uploads" / "tickets" / "scan.pdf").write_bytes(b"%PDF-1.4 scan")
    (instance / "documents").mkdir()
    (instance / "documents" / "invoice-1.pdf").write_bytes(b"%PDF-1.4 invoice")
    result = backup.create_backup(app.config, tmp_path / "out")
    assert set(result.manifest["parts"]) >= {"uploads/tickets/scan.pdf", "documents/invoice-1.pdf"}
    backup.restore_backup(result.path, empty_instance)
    target = Path(empty_instance["INSTANCE_PATH"])
    assert (target / "uploads" / "tickets" / "scan.pdf").read_bytes() == b"%PDF-1.4 scan"
    assert (target / "documents" / "invoice-1.pdf").read_bytes() == b"%PDF-1.4 invoice"


def _rewrite(archive: Path, target: Path, change) -> Path:
    """Copy an archive member by member, letting `change(name, data)` alter one."""
    with tarfile.open(archive, "r:*") as source, tarfile.open(target, "w:gz" if target.suffix == ".gz" else "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            data = change(member.name, data)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return target


def test_damaged_archives_are_refused_with_a_clear_message(app, tmp_path, runner):
    archive = backup.create_backup(app.config, tmp_path / "out").path
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match="damaged"):
        backup.verify_backup(truncated, app.config)

    def swap_a_byte(name, data):
        if name.startswith("database/"):
            return data[:4096] + bytes([data[4096] ^ 0xFF]) + data[4097:]
        return data

    tampered = _rewrite(archive, tmp_path / "tampered.tar", swap_a_byte)
    with pytest.raises(BackupError, match="does not match its checksum"):
        backup.verify_backup(tampered, app.config)

    not_ours = tmp_path / "photos.tar.gz"
    not_ours.write_bytes(gzip.compress(b"just some bytes"))
    result = runner.invoke(args=["backup", "verify", str(not_ours)])
    assert result.exit_code != 0
    assert "Архив photos.tar.gz повреждён или не является резервной копией LANBill." in result.output

    result = runner.invoke(args=["restore", "--force", str(tampered)])
    assert result.exit_code != 0
    assert "повреждён: файл database/lanbill" in result.output and "контрольной суммой" in result.output


def test_restore_refuses_an_instance_with_data_unless_forced(app, tmp_path, runner):
    agreement = make_agreement()
    post_payment(agreement, "100", "R-1", actor=ACTOR)
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    archive = next((tmp_path / "out").glob("lanbill-*.tar"))
    post_payment(agreement, "50", "R-2", actor=ACTOR)

    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0
    assert "уже есть данные" in refused.output
    assert Payment.select().count() == 2

    forced = runner.invoke(args=["restore", "--force", str(archive)])
    assert forced.exit_code == 0, forced.output
    database.connect(reuse_if_open=True)
    assert Payment.select().count() == 1
    assert Agreement.get_by_id(agreement.id).balance == Decimal("100.00")

    verified = runner.invoke(args=["backup", "verify", str(archive)])
    assert verified.exit_code == 0, verified.output
    assert "ok:" in verified.output


def test_restore_onto_newer_code_applies_its_migrations(app, tmp_path, empty_instance):
    """An archive of a system from before the notifications: restoring it
    runs that migration, as upgrading the old system would have."""
    tables = ("group_notify_rule", "notify_template", "notify_choice", "notify_contact", "outbox_message")
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0095_notifications'")
    for table in tables:
        database.execute_sql(f'DROP TABLE "{table}"')
    result = backup.create_backup(app.config, tmp_path / "out")
    assert "0095_notifications" not in result.manifest["schema_migrations"]
    restored = backup.restore_backup(result.path, empty_instance)
    assert restored["migrations"] == ["0095_notifications"]
    with backup.bound_to(empty_instance["DATABASE_URL"]):
        assert set(tables) <= set(database.get_tables())


def test_retention_keeps_daily_and_monthly_archives(tmp_path):
    start = dt.datetime(2026, 1, 1, 3, 0)
    made = []
    for day in range(0, 120):
        for hour in (3, 15):  # two a day: the later one is the day's
            at = start + dt.timedelta(days=day, hours=hour - 3)
            path = tmp_path / f"lanbill-{at:%Y%m%d-%H%M%S}.tar.gz"
            path.write_bytes(b"x")
            made.append(path)
    (tmp_path / "notes.txt").write_text("not an archive")
    deleted = backup.prune(tmp_path, keep_daily=7, keep_monthly=3)
    kept = sorted(p.name for p in tmp_path.glob("lanbill-*"))
    assert len(deleted) == len(made) - len(kept)
    assert (tmp_path / "notes.txt").exists()
    # the last 7 days (the 15:00 one of each) and the newest of Feb, Mar, Apr
    # (April's is also the last day's)
    assert kept == sorted([f"lanbill-{(start + dt.timedelta(days=d, hours=12)):%Y%m%d-%H%M%S}.tar.gz"
                           for d in range(113, 120)]
                          + ["lanbill-20260228-150000.tar.gz", "lanbill-20260331-150000.tar.gz"])


def test_backup_into_the_backup_folder_prunes_and_is_remembered(app):
    app.config.update(BACKUP_KEEP_DAILY=1, BACKUP_KEEP_MONTHLY=1)
    folder = backup.backup_directory(app.config)
    folder.mkdir(parents=True)
    old = folder / "lanbill-20200101-000000.tar.gz"
    old.write_bytes(b"old")
    result = backup.create_backup(app.config)
    assert result.pruned == [old] and not old.exists()
    last = backup.last_backup()
    assert last["path"] == str(result.path) and last["bytes"] == result.path.stat().st_size
    assert json.loads(Setting.get_by_id(backup.LAST_BACKUP_SETTING).value)["at"]


def test_plain_tar_by_default_gzip_when_asked(app, tmp_path):
    """The database is stored as it is (a plain .tar: gzip costs more CPU
    than the rest of the backup); BACKUP_GZIP makes a .tar.gz. Both verify."""
    make_agreement()
    plain = backup.create_backup(app.config, tmp_path / "plain").path
    assert plain.name.endswith(".tar") and plain.read_bytes()[:2] != b"\x1f\x8b"
    with tarfile.open(plain, "r:") as tar:
        assert "database/lanbill.db" in tar.getnames() or "database/lanbill.pgdump" in tar.getnames()
    app.config["BACKUP_GZIP"] = True
    packed = backup.create_backup(app.config, tmp_path / "packed").path
    assert packed.name.endswith(".tar.gz") and packed.read_bytes()[:2] == b"\x1f\x8b"
    for archive in (plain, packed):
        result = backup.verify_backup(archive, app.config)
        assert result.ok and result.counts["agreement"] == 1
