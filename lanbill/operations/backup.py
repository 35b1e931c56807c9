"""Backups (DESIGN §14): one tar archive with the database, the keys, uploads
and issued documents, a manifest with checksums; restore, verify, retention.

The archive is a plain `.tar` by default: the database is stored as it is,
since compressing a gigabyte of SQLite pages with gzip costs more CPU than
the whole rest of the backup and the restore (BACKUP_GZIP = True makes a
`.tar.gz` at gzip's fastest level instead).  Restore and verify read both.

The database copy is consistent while the system runs: SQLite's online
backup API copies one read snapshot (WAL lets writers go on meanwhile);
PostgreSQL's `pg_dump` runs on a snapshot exported by a transaction that
also counts the rows, so the manifest's row counts are those of the dump.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg2

from lanbill.billing.ledger import check_invariant
from lanbill.clock import now_utc
from lanbill.db import database, make_database, transaction
from lanbill.errors import N_, BillingError
from lanbill.migrations import upgrade_database
from lanbill.models import Agreement, LedgerEntry, Payment, Setting, Subscriber

FORMAT = 1
ARCHIVE_PATTERN = re.compile(r"^lanbill-(\d{8}-\d{6})(?:-\d+)?\.tar(?:\.gz)?$")
COPY_BUFFER = 1 << 20  # bytes per read when archiving or extracting (tarfile's own is 16 KiB)
# Folders of the instance that hold files the database points at.
FILE_FOLDERS = ("uploads", "documents")
KEY_FILES = ("data_key", "secret_key")
LAST_BACKUP_SETTING = "backup.last"
# Tables whose rows make an instance "not empty" for a restore: what a
# fresh `flask init` creates (operator, currencies, admin) does not count.
CUSTOMER_TABLES = (Subscriber, Agreement, LedgerEntry, Payment)


class BackupError(BillingError):
    """A backup, restore or verification refused; the message says why."""


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    pruned: list[Path] = field(default_factory=list)


@dataclass
class VerifyResult:
    manifest: dict
    counts: dict
    mismatched: dict  # table → (manifest count, restored count)
    ledger_errors: list

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.ledger_errors


def backup_directory(config: dict) -> Path:
    """BACKUP_DIR, or `backups` in the instance folder."""
    return Path(config.get("BACKUP_DIR") or Path(config["INSTANCE_PATH"]) / "backups")


def database_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else url.split(":", 1)[1]


def _pg_parts(url: str) -> tuple[str, dict]:
    """(URL without the password, environment carrying it): the password
    never appears on a command line other users could read."""
    url = url.replace("postgres://", "postgresql://", 1)
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}@{netloc[1]}")
    return urlunsplit(parts), env


def _run(command: list[str], env: dict | None = None) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(N_("The program %(program)s is not installed."), program=command[0]) from None
    if result.returncode != 0:
        raise BackupError(N_("%(program)s failed: %(reason)s"), program=command[0],
                          reason=(result.stderr or result.stdout).strip()[-500:])


# --- making a backup -----------------------------------------------------------


def _sqlite_snapshot(url: str, target: Path) -> tuple[dict, list[str]]:
    """Copy the live SQLite database with the online backup API (one read
    snapshot) and count the rows of the copy."""
    source = sqlite3.connect(_sqlite_path(url), timeout=30)
    copy = sqlite3.connect(target)
    try:
        # all pages in one step: one read snapshot, never restarted by a writer's commit
        source.backup(copy, pages=-1)
    finally:
        source.close()
    try:
        copy.execute("PRAGMA journal_mode=DELETE")
        return _sqlite_counts(copy)
    finally:
        copy.close()


def _sqlite_counts(connection) -> tuple[dict, list[str]]:
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counts = {t: connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    migrations = []
    if "schema_migration" in tables:
        migrations = sorted(row[0] for row in connection.execute('SELECT name FROM "schema_migration"'))
    return counts, migrations


def _pg_counts(cursor) -> tuple[dict, list[str]]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    migrations = []
    if "schema_migration" in tables:
        cursor.execute('SELECT name FROM "schema_migration"')
        migrations = sorted(row[0] for row in cursor.fetchall())
    return counts, migrations


def _pg_snapshot(url: str, target: Path) -> tuple[dict, list[str], str]:
    """`pg_dump -Fc` on a snapshot exported by the transaction that counts
    the rows: the dump and the counts see the same committed payments."""
    plain, env = _pg_parts(url)
    connection = psycopg2.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server = cursor.fetchone()
            counts, migrations = _pg_counts(cursor)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target}", f"--dbname={plain}"], env)
        connection.rollback()
    finally:
        connection.close()
    return counts, migrations, server


def _archive_name(directory: Path, at: dt.datetime, suffix: str = ".tar") -> Path:
    stem = "lanbill-" + at.strftime("%Y%m%d-%H%M%S")
    path = directory / f"{stem}{suffix}"
    n = 1
    while path.exists():
        path = directory / f"{stem}-{n}{suffix}"
        n += 1
    return path


def create_backup(config: dict, target: Path | str | None = None, *, version: str = "",
                  prune_after: bool = True) -> BackupResult:
    """Write one archive of the instance into `target` (default BACKUP_DIR)
    and, into BACKUP_DIR only, apply the retention (BACKUP_KEEP_DAILY,
    BACKUP_KEEP_MONTHLY).  The archive is mode 0600: it holds the keys.
    Records the time and size of the last backup for /healthz.
    BACKUP_GZIP: a gzip-compressed `.tar.gz` (fastest level) instead of a
    plain `.tar`."""
    default_directory = backup_directory(config)
    directory = Path(target) if target else default_directory
    directory.mkdir(parents=True, exist_ok=True)
    instance = Path(config["INSTANCE_PATH"])
    url = config["DATABASE_URL"]
    started = now_utc()
    with tempfile.TemporaryDirectory(dir=directory, prefix=".staging-") as staging:
        staging = Path(staging)
        kind = database_kind(url)
        server = sqlite3.sqlite_version
        if kind == "sqlite":
            dump = staging / "lanbill.db"
            counts, migrations = _sqlite_snapshot(url, dump)
        else:
            dump = staging / "lanbill.pgdump"
            counts, migrations, server = _pg_snapshot(url, dump)
        parts: list[tuple[str, Path]] = [(f"database/{dump.name}", dump)]
        for name, key in (("data_key", "DATA_KEY"), ("secret_key", "SECRET_KEY")):
            path = staging / name
            path.write_text(str(config[key]).strip() + "\n")
            parts.append((f"keys/{name}", path))
        for folder in FILE_FOLDERS:
            root = instance / folder
            if root.is_dir():
                parts += [(f"{folder}/{p.relative_to(root).as_posix()}", p)
                          for p in sorted(root.rglob("*")) if p.is_file()]
        manifest = {
            "format": FORMAT,
            "lanbill_version": version,
            "python": platform.python_version(),
            "database": kind,
            "database_version": server,
            "created_at": started.isoformat(timespec="seconds") + "Z",
            "host": platform.node(),
            "schema_migrations": migrations,
            "last_migration": migrations[-1] if migrations else None,
            "tables": counts,
            "parts": {},
        }
        gzip = bool(config.get("BACKUP_GZIP"))
        archive = _archive_name(directory, started, ".tar.gz" if gzip else ".tar")
        partial = archive.with_name("." + archive.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        options = {"mode": "w:gz", "compresslevel": 1} if gzip else {"mode": "w:"}
        try:
            with os.fdopen(fd, "wb", buffering=COPY_BUFFER) as raw, \
                    tarfile.open(fileobj=raw, copybufsize=COPY_BUFFER, **options) as tar:
                for arcname, path in parts:
                    manifest["parts"][arcname] = _add(tar, path, arcname)
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mtime, info.mode = len(data), int(started.timestamp()), 0o600
                tar.addfile(info, _BytesReader(data))
            os.replace(partial, archive)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    _remember(archive, started)
    pruned = []
    if prune_after and directory.resolve() == default_directory.resolve():
        pruned = prune(directory, int(config.get("BACKUP_KEEP_DAILY", 7)),
                       int(config.get("BACKUP_KEEP_MONTHLY", 12)))
    return BackupResult(archive, manifest, pruned)


class _BytesReader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, size=-1):
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at:end], min(end, len(self.data))
        return chunk


class _HashingReader:
    """Hands a file to tarfile and hashes exactly the bytes it takes."""

    def __init__(self, handle):
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def read(self, size=-1):
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def _add(tar: tarfile.TarFile, path: Path, arcname: str) -> dict:
    info = tar.gettarinfo(str(path), arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with open(path, "rb") as handle:
        reader = _HashingReader(handle)
        tar.addfile(info, reader)
    return {"sha256": reader.digest.hexdigest(), "bytes": reader.size}


def _remember(archive: Path, at: dt.datetime) -> None:
    value = json.dumps({"at": at.isoformat(timespec="seconds"), "path": str(archive),
                        "bytes": archive.stat().st_size})
    with database.connection_context() if database.is_closed() else contextlib.nullcontext(), transaction():
        updated = Setting.update(value=value).where(Setting.key == LAST_BACKUP_SETTING).execute()
        if not updated:
            Setting.create(key=LAST_BACKUP_SETTING, value=value)


def last_backup() -> dict | None:
    """{"at": naive UTC datetime, "path", "bytes"} of the last backup made, or None."""
    row = Setting.get_or_none(Setting.key == LAST_BACKUP_SETTING)
    if row is None or not row.value:
        return None
    found = json.loads(row.value)
    found["at"] = dt.datetime.fromisoformat(found["at"])
    return found


# --- retention -------------------------------------------------------------------


def archive_time(path: Path) -> dt.datetime | None:
    match = ARCHIVE_PATTERN.match(path.name)
    return dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S") if match else None


def prune(directory: Path, keep_daily: int, keep_monthly: int) -> list[Path]:
    """Retention: keep the newest archive of each of the last `keep_daily`
    days that have one, and the newest of each of the last `keep_monthly`
    months; delete the other archives of ours (other files are left
    alone).  The newest archive is always kept.  Returns what was deleted."""
    archives = sorted(((archive_time(p), p) for p in Path(directory).iterdir() if archive_time(p)),
                      key=lambda pair: (pair[0], pair[1].name), reverse=True)
    keep: set[Path] = {archives[0][1]} if archives else set()
    days: list = []
    months: list = []
    for at, path in archives:
        if at.date() not in days:
            days.append(at.date())
            if len(days) <= keep_daily:
                keep.add(path)
        if (at.year, at.month) not in months:
            months.append((at.year, at.month))
            if len(months) <= keep_monthly:
                keep.add(path)
    deleted = []
    for _, path in archives:
        if path not in keep:
            path.unlink()
            deleted.append(path)
    return deleted


# --- reading an archive ---------------------------------------------------------------


DAMAGED = N_("The archive %(name)s is damaged or is not a LANBill backup.")
MISMATCH = N_("The archive %(name)s is damaged: the file %(part)s does not match its checksum.")
MISSING = N_("The archive %(name)s is incomplete: the file %(part)s is missing.")
EXTRA = N_("The archive %(name)s holds a file its manifest does not list: %(part)s.")


def unpack(archive: Path | str, into: Path) -> dict:
    """Extract `archive` into `into` and check it against its manifest:
    every part present with its checksum, nothing else.  Refuses a damaged
    or foreign archive with a clear message; returns the manifest."""
    archive = Path(archive)
    name = archive.name
    if not archive.is_file():
        raise BackupError(N_("There is no file %(name)s."), name=str(archive))
    digests: dict[str, str] = {}
    try:
        with tarfile.open(archive, "r:*", copybufsize=COPY_BUFFER) as tar:
            # one pass: each member written and hashed as it is read
            for member in tar:
                member = tarfile.data_filter(member, str(into))  # no links, devices or paths outside
                target = into / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise tarfile.TarError(member.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                source = tar.extractfile(member)
                with open(target, "wb") as out:
                    while chunk := source.read(COPY_BUFFER):
                        digest.update(chunk)
                        out.write(chunk)
                digests[member.name] = digest.hexdigest()
    except (tarfile.TarError, EOFError, zlib.error, OSError):
        raise BackupError(DAMAGED, name=name) from None
    manifest_path = into / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        parts = manifest["parts"]
        manifest["tables"], manifest["database"]  # noqa: B018 - required keys
    except (OSError, ValueError, KeyError, TypeError):
        raise BackupError(DAMAGED, name=name) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(N_("The archive %(name)s is of an unknown backup format."), name=name)
    found = set(digests) - {"manifest.json"}
    for part, expected in parts.items():
        if part not in found:
            raise BackupError(MISSING, name=name, part=part)
        if digests[part] != expected["sha256"]:
            raise BackupError(MISMATCH, name=name, part=part)
    extra = found - set(parts)
    if extra:
        raise BackupError(EXTRA, name=name, part=sorted(extra)[0])
    return manifest


def read_manifest(archive: Path | str) -> dict:
    """The manifest of a checked archive (every checksum verified)."""
    with tempfile.TemporaryDirectory(prefix="lanbill-manifest-") as scratch:
        return unpack(archive, Path(scratch))


# --- restoring -------------------------------------------------------------------------


@contextlib.contextmanager
def bound_to(url: str):
    """Point the database proxy at another database for a while (the
    scratch copy `verify` checks), then back."""
    previous = database.obj
    if previous is not None and not previous.is_closed():
        previous.close()
    scratch = make_database(url)
    database.initialize(scratch)
    try:
        database.connect()
        yield scratch
    finally:
        if not scratch.is_closed():
            scratch.close()
        database.initialize(previous)


def is_empty_instance(config: dict) -> bool:
    """No subscriber, agreement, ledger entry or payment in the database and
    no uploaded or issued files: what `flask init` leaves is empty."""
    instance = Path(config["INSTANCE_PATH"])
    for folder in FILE_FOLDERS:
        if (instance / folder).is_dir() and any((instance / folder).iterdir()):
            return False
    with bound_to(config["DATABASE_URL"]):
        tables = set(database.get_tables())
        return not any(model._meta.table_name in tables and model.select().exists() for model in CUSTOMER_TABLES)


def _restore_sqlite(dump: Path, url: str) -> None:
    """Copy into the target file with the backup API: SQLite locks it and
    every other connection sees the restored pages."""
    target = Path(_sqlite_path(url))
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    copy = sqlite3.connect(target, timeout=30)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        copy.close()


def _drop_pg_tables(url: str) -> None:
    """Empty the public schema for a restore: its tables (with their
    sequences and triggers) and its functions (the reports' trigger
    functions are in the dump too, and pg_restore stops at one that exists)."""
    connection = psycopg2.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [row[0] for row in cursor.fetchall()]
            if tables:
                cursor.execute("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
            cursor.execute("SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
                           "ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind = 'f' "
                           "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")
            functions = [row[0] for row in cursor.fetchall()]
            if functions:
                cursor.execute("DROP FUNCTION " + ", ".join(functions) + " CASCADE")
    finally:
        connection.close()


def _restore_pg(dump: Path, url: str) -> None:
    _drop_pg_tables(url)
    plain, env = _pg_parts(url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={plain}", str(dump)], env)


def _check_kind(manifest: dict, url: str, name: str) -> None:
    if manifest["database"] != database_kind(url):
        raise BackupError(N_("The archive %(name)s holds a %(kind)s database; this instance uses %(own)s."),
                          name=name, kind=manifest["database"], own=database_kind(url))


def restore_backup(archive: Path | str, config: dict, *, force: bool = False) -> dict:
    """Restore an archive into this instance: database, keys, uploads and
    documents, then apply the migrations this code has and the archive's
    did not (a restore onto a newer version upgrades it).  Refuses an
    instance that is not empty (is_empty_instance) unless `force`.
    Returns {"manifest", "migrations": names applied}."""
    archive = Path(archive)
    url = config["DATABASE_URL"]
    instance = Path(config["INSTANCE_PATH"])
    if not force and not is_empty_instance(config):
        raise BackupError(N_("This instance already holds data; restoring would replace it. "
                             "Use --force to replace it anyway."))
    with tempfile.TemporaryDirectory(prefix="lanbill-restore-") as scratch:
        scratch = Path(scratch)
        manifest = unpack(archive, scratch)
        _check_kind(manifest, url, archive.name)
        if not database.is_closed():
            database.close()
        if manifest["database"] == "sqlite":
            _restore_sqlite(scratch / "database" / "lanbill.db", url)
        else:
            _restore_pg(scratch / "database" / "lanbill.pgdump", url)
        for name in KEY_FILES:
            path = instance / name
            path.write_text((scratch / "keys" / name).read_text())
            path.chmod(0o600)
        for folder in FILE_FOLDERS:
            if (scratch / folder).is_dir():
                shutil.rmtree(instance / folder, ignore_errors=True)
                shutil.copytree(scratch / folder, instance / folder)
    with bound_to(url):
        applied = upgrade_database()
    return {"manifest": manifest, "migrations": applied}


def verify_backup(archive: Path | str, config: dict) -> VerifyResult:
    """Restore the archive into a scratch place (a temporary SQLite file, or
    a temporary database on this instance's PostgreSQL server), compare
    every table's rows with the manifest, apply the migrations and run the
    ledger check (every balance = the sum of its ledger).  The instance
    itself is not touched."""
    archive = Path(archive)
    with tempfile.TemporaryDirectory(prefix="lanbill-verify-") as scratch:
        scratch = Path(scratch)
        manifest = unpack(archive, scratch / "archive")
        if manifest["database"] == "sqlite":
            url = "sqlite:///" + str(scratch / "archive" / "database" / "lanbill.db")
            with bound_to(url):
                return _verify_bound(manifest)
        own = config["DATABASE_URL"]
        if database_kind(own) != "postgresql":
            raise BackupError(N_("Verifying a PostgreSQL backup needs a PostgreSQL server: "
                                 "set DATABASE_URL to one."))
        name = "lanbill_verify_" + uuid.uuid4().hex[:10]
        admin = psycopg2.connect(own.replace("postgres://", "postgresql://", 1))
        admin.autocommit = True
        try:
            admin.cursor().execute(f'CREATE DATABASE "{name}"')
            base = own.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0]
            url = f"{base}/{name}"
            plain, env = _pg_parts(url)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={plain}",
                  str(scratch / "archive" / "database" / "lanbill.pgdump")], env)
            with bound_to(url):
                return _verify_bound(manifest)
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def _verify_bound(manifest: dict) -> VerifyResult:
    counts = {t: database.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in database.get_tables()
              if not t.startswith("sqlite_")}
    expected = manifest["tables"]
    mismatched = {t: (expected.get(t), counts.get(t)) for t in set(expected) | set(counts)
                  if expected.get(t) != counts.get(t)}
    upgrade_database()
    return VerifyResult(manifest, counts, mismatched, check_invariant())
