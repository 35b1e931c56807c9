"""Counters per (account, category, hour) held in memory and written to the
database in one transaction (DESIGN §7), plus the per-address detail for
accounts that keep it.

A counter key is `account_id << 32 | category_id` (0: no category) in a
uint64 array per hour; batches are reduced with `np.unique` and compacted
when they pile up, so memory stays bounded by the distinct keys.
"""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np

from agents.netflow.matcher import Matcher, address_text
from agents.netflow.protocol import Flows
from lanbill.db import database, transaction
from lanbill.models.base import utcnow
from lanbill.models.traffic import NetflowAgentStatus, NetflowStatus, TrafficDetail, TrafficHourly

EPOCH = dt.datetime(1970, 1, 1)
COMPACT_AT = 1_000_000  # entries per hour before a compaction
DENSE_MAX = 8_000_000  # cells (accounts × category slots) of a dense counter array
DENSE_HOURS = 3  # hours counted densely at once (the current one and stragglers)
BATCH_ROWS = 300


def reduce_keys(keys: np.ndarray, *values: np.ndarray):
    """Sum `values` per distinct key: (unique keys, summed values...)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = []
    for column in values:
        total = np.zeros(len(unique), dtype=np.uint64)
        np.add.at(total, inverse, column)
        sums.append(total)
    return (unique, *sums)


class Aggregator:
    """Thread-safe in-memory counters; `take()` hands them over for a
    write and `put_back()` returns them if the write failed, so nothing
    counted is ever lost."""

    def __init__(self):
        self._lock = threading.Lock()
        self._hours: dict[int, list] = {}  # hour number → [(keys, in, out)]
        self._sizes: dict[int, int] = {}
        self._detail: dict[tuple, list] = {}  # (account, category, hour, remote, port) → [in, out]
        self._dense: dict[int, list] = {}  # hour → [matcher, in, out] indexed by position × slots + slot

    @staticmethod
    def _groups(hours: np.ndarray):
        first = int(hours[0])
        if (hours == first).all():
            return [(first, slice(None))]
        return [(int(h), hours == h) for h in np.unique(hours)]

    def add_dense(self, matcher, hours: np.ndarray, index: np.ndarray, octets: np.ndarray, incoming: int) -> None:
        """Add by dense index (the matcher's position × slots + slot): the
        first `incoming` entries are incoming bytes, the rest outgoing; one
        `np.add.at` per direction instead of a sort.  A counter array
        belongs to the matcher it was built for; a refreshed matcher spills
        it to keys."""
        if not len(index):
            return
        size = len(matcher) * matcher.slots
        with self._lock:
            for hour, sel in self._groups(hours):
                entry = self._dense.get(hour)
                if entry is None or entry[0] is not matcher:
                    if entry is not None:
                        self._spill(hour, self._dense.pop(hour))
                    while len(self._dense) >= DENSE_HOURS:
                        oldest = min(self._dense)
                        self._spill(oldest, self._dense.pop(oldest))
                    entry = self._dense[hour] = [matcher, np.zeros(size, dtype=np.uint64),
                                                 np.zeros(size, dtype=np.uint64)]
                if isinstance(sel, slice):
                    np.add.at(entry[1], index[:incoming], octets[:incoming])
                    np.add.at(entry[2], index[incoming:], octets[incoming:])
                else:
                    sel_in, sel_out = sel[:incoming], sel[incoming:]
                    np.add.at(entry[1], index[:incoming][sel_in], octets[:incoming][sel_in])
                    np.add.at(entry[2], index[incoming:][sel_out], octets[incoming:][sel_out])

    def _spill(self, hour: int, entry: list) -> None:
        """Dense counters → keyed parts (caller holds the lock)."""
        matcher, counts_in, counts_out = entry
        used = np.flatnonzero(counts_in | counts_out)
        if len(used):
            self._hours.setdefault(hour, []).append((matcher.keys_of(used), counts_in[used], counts_out[used]))
            self._sizes[hour] = self._sizes.get(hour, 0) + len(used)

    def add(self, hours: np.ndarray, keys: np.ndarray, bytes_in: np.ndarray, bytes_out: np.ndarray) -> None:
        if not len(keys):
            return
        reduced = [(hour, reduce_keys(keys[sel], bytes_in[sel], bytes_out[sel])) for hour, sel in self._groups(hours)]
        with self._lock:
            for hour, triple in reduced:
                parts = self._hours.setdefault(hour, [])
                parts.append(triple)
                size = self._sizes.get(hour, 0) + len(triple[0])
                if size > COMPACT_AT and len(parts) > 1:
                    triple = reduce_keys(*(np.concatenate([p[i] for p in parts]) for i in range(3)))
                    self._hours[hour] = [triple]
                    size = len(triple[0])
                self._sizes[hour] = size

    def add_detail(self, rows) -> None:
        """rows: iterable of ((account, category, hour, remote, port), in, out)."""
        with self._lock:
            for key, bytes_in, bytes_out in rows:
                counter = self._detail.get(key)
                if counter is None:
                    self._detail[key] = [bytes_in, bytes_out]
                else:
                    counter[0] += bytes_in
                    counter[1] += bytes_out

    def take(self):
        """Hand over everything counted so far: ({hour: (keys, in, out)}, detail)."""
        with self._lock:
            for hour in list(self._dense):
                self._spill(hour, self._dense.pop(hour))
            hours, self._hours, self._sizes = self._hours, {}, {}
            detail, self._detail = self._detail, {}
        compact = {}
        for hour, parts in hours.items():
            if len(parts) == 1:
                compact[hour] = parts[0]
            else:
                compact[hour] = reduce_keys(*(np.concatenate([p[i] for p in parts]) for i in range(3)))
        return compact, detail

    def put_back(self, taken) -> None:
        hours, detail = taken
        with self._lock:
            for hour, triple in hours.items():
                self._hours.setdefault(hour, []).append(triple)
                self._sizes[hour] = self._sizes.get(hour, 0) + len(triple[0])
        self.add_detail((key, v[0], v[1]) for key, v in detail.items())

    def is_empty(self) -> bool:
        with self._lock:
            return not self._hours and not self._detail and not self._dense

    def totals(self) -> tuple[int, int]:
        """(bytes in, bytes out) held in memory — for tests and status."""
        with self._lock:
            parts = [p for ps in self._hours.values() for p in ps] + [(None, e[1], e[2]) for e in self._dense.values()]
        return (sum(int(p[1].sum()) for p in parts), sum(int(p[2].sum()) for p in parts))


def account_flows(flows: Flows, matcher: Matcher, aggregator: Aggregator, unmatched: dict) -> int:
    """Match one batch of flows and add it to the counters.

    The destination side being an account's address makes the bytes that
    account's incoming traffic, the source side its outgoing; traffic
    between two accounts counts for both.  Flows of no account are added
    to `unmatched[exporter index] = [records, bytes]`.  Returns the
    number of records matched to at least one account."""
    n = len(flows)
    match, slots_for = (matcher.match6, matcher.slots_for6) if flows.v6 else (matcher.match4, matcher.slots_for4)
    both = match(np.concatenate([flows.dst, flows.src]))  # one lookup for both sides
    to_account, from_account = both[:n], both[n:]
    is_in = to_account >= 0
    is_out = from_account >= 0
    missed = ~(is_in | is_out)
    if missed.any():
        exporters = flows.exporter[missed]
        octets = flows.octets[missed]
        for index in np.unique(exporters).tolist():
            sel = exporters == index
            counter = unmatched.setdefault(index, [0, 0])
            counter[0] += int(sel.sum())
            counter[1] += int(octets[sel].sum())
    hours = flows.end // 3600
    sel_in, sel_out = np.flatnonzero(is_in), np.flatnonzero(is_out)
    pos_in, pos_out = to_account[sel_in], from_account[sel_out]
    incoming = len(sel_in)
    rows = np.concatenate([sel_in, sel_out])
    positions = np.concatenate([pos_in, pos_out])
    all_hours = hours[rows]
    octets = flows.octets[rows]
    if len(matcher) * matcher.slots <= DENSE_MAX:
        remotes = np.concatenate([flows.src[sel_in], flows.dst[sel_out]])
        slots = slots_for(positions, remotes)
        aggregator.add_dense(matcher, all_hours, positions * matcher.slots + slots, octets, incoming)
        if matcher.any_detail:
            categories = matcher.slot_category[matcher.account_tariff[positions].astype(np.int64), slots]
            cat_in, cat_out = categories[:incoming], categories[incoming:]
    else:
        lookup = matcher.categories_for6 if flows.v6 else matcher.categories_for4
        cat_in = lookup(pos_in, flows.src[sel_in])
        cat_out = lookup(pos_out, flows.dst[sel_out])
        keys = (matcher.account_ids[positions].astype(np.uint64) << np.uint64(32)) | \
            np.concatenate([cat_in, cat_out]).astype(np.uint64)
        zeros = np.zeros(len(octets), dtype=np.uint64)
        incoming_mask = np.arange(len(octets)) < incoming
        aggregator.add(all_hours, keys, np.where(incoming_mask, octets, zeros), np.where(incoming_mask, zeros, octets))
    if matcher.any_detail:
        _add_detail(flows, matcher, aggregator, is_in, pos_in, cat_in, flows.src, flows.sport, True, hours)
        _add_detail(flows, matcher, aggregator, is_out, pos_out, cat_out, flows.dst, flows.dport, False, hours)
    return int((is_in | is_out).sum())


def _add_detail(flows, matcher, aggregator, selected, positions, categories, remotes, ports, incoming, hours):
    keep = matcher.keep_address[positions]
    if not keep.any():
        return
    keep_port = matcher.keep_port[positions][keep]
    rows = []
    for position, category, remote, port, octets, hour, with_port in zip(
        positions[keep].tolist(), categories[keep].tolist(), remotes[selected][keep].tolist(),
        ports[selected][keep].tolist(), flows.octets[selected][keep].tolist(), hours[selected][keep].tolist(),
        keep_port.tolist(), strict=True,
    ):
        key = (int(matcher.account_ids[position]), category, hour, address_text(remote, flows.v6),
               port if with_port else 0)
        rows.append((key, octets, 0) if incoming else (key, 0, octets))
    aggregator.add_detail(rows)


def hour_datetime(hour: int) -> dt.datetime:
    return EPOCH + dt.timedelta(hours=hour)


def write_counters(taken, status_rows=(), agent_row: dict | None = None) -> int:
    """Write counters (from `Aggregator.take()`) and exporter status rows
    in ONE transaction: add to the existing hourly/detail rows or insert
    new ones.  With `agent_row` (the agent's own counters) the status rows
    are the agent's whole list: rows of exporters it no longer keeps are
    deleted.  Returns the number of hourly rows touched."""
    hours, detail = taken
    touched = 0
    with transaction():
        for hour, (keys, bytes_in, bytes_out) in sorted(hours.items()):
            at = hour_datetime(hour)
            accounts = (keys >> np.uint64(32)).astype(np.int64)
            categories = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
            rows = {
                (a, c or None): (i, o)
                for a, c, i, o in zip(accounts.tolist(), categories.tolist(), bytes_in.tolist(), bytes_out.tolist(),
                                      strict=True)
            }
            touched += len(rows)
            _upsert(TrafficHourly, at, rows, ("account_id", "category_id"))
        by_hour: dict[int, dict] = {}
        for (account, category, hour, remote, port), (bytes_in, bytes_out) in detail.items():
            by_hour.setdefault(hour, {})[(account, category or None, remote, port)] = (bytes_in, bytes_out)
        for hour, rows in sorted(by_hour.items()):
            _upsert(TrafficDetail, hour_datetime(hour), rows, ("account_id", "category_id", "remote", "port"))
        for row in status_rows:
            updated = (NetflowStatus.update(**row)
                       .where((NetflowStatus.agent_id == row["agent_id"]) & (NetflowStatus.exporter == row["exporter"]))
                       .execute())
            if not updated:
                NetflowStatus.create(**row)
        if agent_row is not None:
            agent_id = agent_row["agent_id"]
            kept = [row["exporter"] for row in status_rows]
            NetflowStatus.delete().where((NetflowStatus.agent_id == agent_id)
                                         & NetflowStatus.exporter.not_in(kept)).execute()
            if not NetflowAgentStatus.update(**agent_row).where(NetflowAgentStatus.agent_id == agent_id).execute():
                NetflowAgentStatus.create(**agent_row)
    return touched


def _upsert(model, at: dt.datetime, rows: dict, key_fields: tuple) -> None:
    """Add (in, out) to the rows of `model` at hour `at` keyed by
    `key_fields`, inserting the missing ones.  Portable across SQLite and
    PostgreSQL (a NULL category defeats ON CONFLICT, so we look first)."""
    existing = {}
    accounts = sorted({key[0] for key in rows})
    columns = [getattr(model, name) for name in key_fields]
    for start in range(0, len(accounts), 500):
        chunk = accounts[start:start + 500]
        query = (model.select(model.id, *columns)
                 .where((model.hour == at) & (model.account_id.in_(chunk))).tuples())
        for row_id, *key in query:
            existing[tuple(key)] = row_id
    stamped = "updated_at" in model._meta.fields
    now = utcnow()
    updates, inserts = [], []
    for key, (bytes_in, bytes_out) in rows.items():
        row_id = existing.get(key)
        if row_id is None:
            record = dict(zip(key_fields, key, strict=True))
            record.update(hour=at, bytes_in=bytes_in, bytes_out=bytes_out)
            if stamped:
                record["updated_at"] = now
            inserts.append(record)
        elif bytes_in or bytes_out:
            updates.append((row_id, bytes_in, bytes_out))
    table = model._meta.table_name
    param = database.param
    stamp_sql = ", updated_at = " + param if stamped else ""
    for start in range(0, len(updates), BATCH_ROWS):
        batch = updates[start:start + BATCH_ROWS]
        values = ", ".join([f"({param}, {param}, {param})"] * len(batch))
        sql = (f'UPDATE "{table}" SET bytes_in = "{table}".bytes_in + v.column2, '
               f'bytes_out = "{table}".bytes_out + v.column3{stamp_sql} FROM (VALUES {values}) AS v '
               f'WHERE "{table}".id = v.column1')
        params = ([now] if stamped else []) + [x for row in batch for x in row]
        database.execute_sql(sql, params)
    for start in range(0, len(inserts), BATCH_ROWS):
        model.insert_many(inserts[start:start + BATCH_ROWS]).execute()
