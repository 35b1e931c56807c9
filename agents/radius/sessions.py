"""Accounting storage: the group-commit writer of the online-sessions
table, NAS reboots and stale-session closing.

Every Accounting-Request is answered only after its row is committed
(RFC 2866 §4.1: respond once the record is stored), but many requests share
one transaction: the writer takes everything queued since its last commit.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading

from psycopg2.extras import execute_batch, execute_values

from agents.radius.cache import agent_connection
from lanbill.clock import now_utc
from lanbill.db import database, is_sqlite, transaction
from lanbill.models.radius import RadiusSession

log = logging.getLogger(__name__)

_COLUMNS = ("agent_id", "nas_id", "account_id", "login", "acct_session_id", "framed_ip", "calling_station_id",
            "nas_port", "started_at", "updated_at", "state_changed_at", "session_time", "input_octets",
            "output_octets", "interim_interval", "close_reason", "billed_input", "billed_output")


def _upsert_sql() -> str:
    columns = ", ".join(_COLUMNS)
    values = ", ".join([database.param] * len(_COLUMNS))
    return (
        f"INSERT INTO radius_session ({columns}) VALUES ({values}) "
        "ON CONFLICT (nas_id, acct_session_id) WHERE stopped_at IS NULL DO UPDATE SET "
        "updated_at = excluded.updated_at, session_time = excluded.session_time, "
        "input_octets = excluded.input_octets, output_octets = excluded.output_octets, "
        "account_id = COALESCE(radius_session.account_id, excluded.account_id), "
        "framed_ip = CASE WHEN excluded.framed_ip <> '' THEN excluded.framed_ip ELSE radius_session.framed_ip END"
    )


class Record:
    """One accounting event to store: kind is start|interim|stop|nas_reset."""

    __slots__ = ("kind", "agent_id", "nas_id", "account_id", "login", "session_id", "framed_ip", "calling",
                 "nas_port", "at", "session_time", "input_octets", "output_octets", "interval", "cause", "known",
                 "refused", "redundant")

    def __init__(self, kind, agent_id, nas_id, account_id=None, login="", session_id="", framed_ip="", calling="",
                 nas_port="", at=None, session_time=0, input_octets=0, output_octets=0, interval=300, cause=None,
                 known=False):
        self.known = known  # an interim for a session the cache knows open: a plain UPDATE will do
        self.refused = None  # the drop reason when the writer would not book it (a replay)
        self.redundant = False  # a Start of a session already open: answered, nothing to book
        self.kind = kind
        self.agent_id = agent_id
        self.nas_id = nas_id
        self.account_id = account_id
        self.login = login
        self.session_id = session_id
        self.framed_ip = framed_ip
        self.calling = calling
        self.nas_port = nas_port
        self.at = at or now_utc()
        self.session_time = session_time
        self.input_octets = input_octets
        self.output_octets = output_octets
        self.interval = interval
        self.cause = cause


def _update_sql() -> str:
    param = database.param
    return (f"UPDATE radius_session SET updated_at = {param}, session_time = {param}, input_octets = {param}, "
            f"output_octets = {param} WHERE nas_id = {param} AND acct_session_id = {param} AND stopped_at IS NULL")


def write_records(records: list[Record]) -> None:
    """Store a batch in one transaction (the caller opened a connection).

    Interim-Updates of sessions known open are plain UPDATEs (half the cost
    of an upsert); if any of them finds no open row (closed as stale
    meanwhile), the whole group is redone as upserts, which is idempotent."""
    upserts = []
    latest = {}
    stops = []
    resets = []
    sqlite = is_sqlite()
    text = {}

    def stamp(value):
        # SQLite stores datetimes as text: convert each distinct one once
        if not sqlite:
            return value
        found = text.get(value)
        if found is None:
            found = text[value] = str(value)
        return found

    _refuse_backward_counters(records)
    for record in records:
        if record.refused or record.redundant:
            continue
        kind = record.kind
        if kind == "stop":
            stops.append(record)
        elif kind == "nas_reset":
            resets.append(record)
        elif record.known:
            latest[(record.nas_id, record.session_id)] = record  # a later interim supersedes an earlier one
        else:
            upserts.append(_upsert_row(record, stamp))
    known = list(latest.values())
    updates = [(stamp(record.at), record.session_time, record.input_octets, record.output_octets, record.nas_id,
                record.session_id) for record in known]
    with transaction():
        if updates:
            if _update_many(updates) < len(updates):
                upserts.extend(_upsert_row(record, stamp) for record in known)
        if upserts:
            _execute_many(_upsert_sql(), upserts)
        for record in stops:
            _store_stop(record)
        for record in resets:
            (RadiusSession.update(stopped_at=record.at, state_changed_at=record.at, close_reason="nas-reboot")
             .where((RadiusSession.nas_id == record.nas_id) & RadiusSession.stopped_at.is_null()).execute())


COUNTERS_BACKWARDS = "counters_backwards"


def _refuse_backward_counters(records: list[Record]) -> None:
    """Mark as refused every Interim-Update whose counters (session time,
    octets either way) are below what is already stored for its open
    session, or below an earlier record of the same batch: a replayed or
    reordered old update must not roll a session back.  A Start of a
    session already open is redundant (answered, nothing booked: it would
    reset the counters).  A Stop still closes the session (the NAS's last
    word)."""
    updates = [r for r in records if r.kind in ("start", "interim")]
    if not updates:
        return
    by_nas: dict[int, set] = {}
    for record in updates:
        by_nas.setdefault(record.nas_id, set()).add(record.session_id)
    latest = {}
    for nas_id, wanted in by_nas.items():
        # (nas_id, acct_session_id) is indexed: one lookup per session
        session_ids = sorted(wanted)
        for start in range(0, len(session_ids), 500):
            rows = (RadiusSession.select(RadiusSession.acct_session_id, RadiusSession.session_time,
                                         RadiusSession.input_octets, RadiusSession.output_octets)
                    .where((RadiusSession.nas_id == nas_id)
                           & RadiusSession.acct_session_id.in_(session_ids[start:start + 500])
                           & RadiusSession.stopped_at.is_null()).tuples())
            for session_id, session_time, input_octets, output_octets in rows:
                latest[(nas_id, session_id)] = (session_time, input_octets, output_octets)
    for record in updates:
        key = (record.nas_id, record.session_id)
        counters = (record.session_time, record.input_octets, record.output_octets)
        stored = latest.get(key)
        if record.kind == "start":
            if stored is not None:
                record.redundant = True
            else:
                latest[key] = counters
            continue
        if stored is not None and any(new < old for new, old in zip(counters, stored, strict=True)):
            record.refused = COUNTERS_BACKWARDS
            continue
        latest[key] = counters


def _upsert_row(record: Record, stamp) -> tuple:
    started = record.at - dt.timedelta(seconds=record.session_time)
    at = stamp(record.at)
    return (record.agent_id, record.nas_id, record.account_id, record.login, record.session_id, record.framed_ip,
            record.calling, record.nas_port, stamp(started), at, at, record.session_time, record.input_octets,
            record.output_octets, record.interval, "", 0, 0)


def _execute_many(sql: str, rows: list[tuple]) -> None:
    if is_sqlite():
        database.cursor().executemany(sql, rows)
    else:
        execute_batch(database.cursor(), sql, rows, page_size=500)


def _update_many(rows: list[tuple]) -> int:
    """The interim UPDATEs; returns the number of rows updated."""
    if is_sqlite():
        cursor = database.cursor()
        cursor.executemany(_update_sql(), rows)
        return cursor.rowcount
    cursor = database.cursor()
    sql = ("UPDATE radius_session AS s SET updated_at = v.at, session_time = v.st, input_octets = v.io, "
           "output_octets = v.oo FROM (VALUES %s) AS v(at, st, io, oo, nas_id, sid) "
           "WHERE s.nas_id = v.nas_id AND s.acct_session_id = v.sid AND s.stopped_at IS NULL")
    template = "(%s::timestamp, %s::bigint, %s::bigint, %s::bigint, %s::integer, %s::text)"
    affected = 0
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        execute_values(cursor, sql, chunk, template=template, page_size=len(chunk))
        affected += cursor.rowcount
    return affected


def _store_stop(record: Record) -> None:
    """Close the open session; a Stop for a session we closed as stale
    updates that row; a Stop we never saw start is stored closed."""
    values = dict(stopped_at=record.at, updated_at=record.at, state_changed_at=record.at,
                  session_time=record.session_time, input_octets=record.input_octets,
                  output_octets=record.output_octets, terminate_cause=record.cause, close_reason="stop")
    if record.framed_ip:
        values["framed_ip"] = record.framed_ip
    key = (RadiusSession.nas_id == record.nas_id) & (RadiusSession.acct_session_id == record.session_id)
    if RadiusSession.update(**values).where(key & RadiusSession.stopped_at.is_null()).execute():
        return
    stale = (RadiusSession.select(RadiusSession.id).where(key & (RadiusSession.close_reason == "stale"))
             .order_by(RadiusSession.id.desc()).first())
    if stale is not None:
        values.pop("state_changed_at")
        RadiusSession.update(**values).where(RadiusSession.id == stale.id).execute()
        return
    RadiusSession.create(agent_id=record.agent_id, nas_id=record.nas_id, account_id=record.account_id,
                         login=record.login, acct_session_id=record.session_id, framed_ip=record.framed_ip,
                         calling_station_id=record.calling, nas_port=record.nas_port,
                         started_at=record.at - dt.timedelta(seconds=record.session_time),
                         interim_interval=record.interval, **values)


def close_stale_sessions(agent_id: int, interim_interval: int, now: dt.datetime | None = None) -> int:
    """Close the agent's open sessions not updated for 3 interim intervals
    (the NAS lost them, or their Stop): stopped at their last update."""
    now = now or now_utc()
    cutoff = now - dt.timedelta(seconds=3 * interim_interval)
    with transaction():
        return (RadiusSession.update(stopped_at=RadiusSession.updated_at, state_changed_at=now,
                                     close_reason="stale")
                .where((RadiusSession.agent_id == agent_id) & RadiusSession.stopped_at.is_null()
                       & (RadiusSession.updated_at < cutoff))
                .execute())


class Writer:
    """The group-commit writer thread.  `submit(record, done)`; `done(ok)`
    is called after the commit (ok False when the batch failed: no reply is
    sent then, the NAS retransmits)."""

    def __init__(self, counters, max_batch: int = 5000):
        self.queue = collections.deque()
        self.ready = threading.Condition()
        self.counters = counters
        self.max_batch = max_batch
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="radius-writer", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def submit(self, record: Record, done) -> None:
        self.queue.append((record, done))
        if len(self.queue) == 1:
            with self.ready:
                self.ready.notify()

    def stop(self) -> None:
        self.stopping = True
        with self.ready:
            self.ready.notify()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        log.info("RADIUS accounting writer started")
        with agent_connection(8000):
            while True:
                with self.ready:
                    while not self.queue and not self.stopping:
                        self.ready.wait(0.5)
                if not self.queue and self.stopping:
                    return
                batch = []
                while self.queue and len(batch) < self.max_batch:
                    batch.append(self.queue.popleft())
                stored = self._store(batch)
                self.counters.add("batches", 1)
                for (record, done), ok in zip(batch, stored, strict=True):
                    try:
                        done(record, ok)
                    except Exception:
                        self.counters.add("reply_errors", 1)
                        log.exception("RADIUS accounting: answering session %s failed", record.session_id)

    def _store(self, batch: list) -> list[bool]:
        """Store a batch in one transaction; if that fails, each record in
        a transaction of its own, so that one bad record costs only itself
        (dropped, counted under `drop:bad_record`, the NAS retransmits it)
        and the rest is booked and answered.  Whether each was stored."""
        records = [record for record, _ in batch]
        try:
            write_records(records)
            return [True] * len(records)
        except Exception:
            self.counters.add("db_errors", 1)
            log.exception("RADIUS accounting: a batch of %d records was not stored; storing one by one",
                          len(records))
            self._reconnect()
        if len(records) == 1:
            self.counters.drop("bad_record")
            return [False]
        stored = []
        logged = False
        for record in records:
            record.refused = None
            record.redundant = False
            try:
                write_records([record])
                stored.append(True)
                continue
            except Exception:
                self.counters.drop("bad_record")
                if not logged:  # one traceback per batch: a dead database fails every record
                    logged = True
                    log.exception("RADIUS accounting: the record of session %s was not stored", record.session_id)
            stored.append(False)
            if not self._reconnect():
                break
        return stored + [False] * (len(records) - len(stored))

    def _reconnect(self) -> bool:
        """A failed transaction may leave the connection unusable
        (PostgreSQL): a fresh one.  False if the database is unreachable."""
        try:
            database.close()
            database.connect()
            return True
        except Exception:
            log.exception("RADIUS accounting: reconnecting failed; the next batch retries")
            return False
