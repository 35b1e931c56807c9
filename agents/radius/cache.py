"""In-memory mirror of what the RADIUS hot path needs: accounts (passwords
decrypted), their IPs, NAS, tariffs, agents and open-session counts.

DESIGN §7: no SQL query per packet.  `refresh()` runs every second in a
background thread: accounts by `Account.updated_at` (with an overlap, so a
transaction that commits late is not missed), NAS, tariffs and agents in
full (small tables), sessions by `RadiusSession.state_changed_at`.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import ipaddress
import logging
import socket
import threading
import time

from agents.radius.protocol import Keyed, nt_password_hash
from lanbill.clock import now_utc
from lanbill.db import connection, database, is_sqlite
from lanbill.models import Account, AccountIp, Agent, Agreement, Nas, Tariff
from lanbill.models.radius import RadiusSession
from lanbill.network.agent_options import RadiusOptions
from lanbill.network.radius_access import speed_of

log = logging.getLogger(__name__)

# How far back each poll looks again: covers a transaction that took its
# timestamp before our previous poll and committed after it.
OVERLAP = dt.timedelta(seconds=30)


class AccountEntry:
    __slots__ = ("id", "agent_id", "login", "password_bytes", "state", "tariff_id",
                 "bandwidth_kbit", "max_sessions", "ip_attr", "agreement_id", "updated_at", "_nt_hash")

    def __init__(self, row, ip):
        (self.id, self.agent_id, self.login, password, self.state, self.tariff_id, self.bandwidth_kbit,
         self.max_sessions, self.agreement_id, self.updated_at) = row
        self.password_bytes = (password or "").encode()
        # Framed-IP-Address, encoded once (b"" when the account has none)
        self.ip_attr = b"\x08\x06" + socket.inet_aton(ip) if ip else b""
        self._nt_hash = None

    @property
    def nt_hash(self) -> bytes:
        if self._nt_hash is None:
            self._nt_hash = nt_password_hash(self.password_bytes.decode())
        return self._nt_hash


class NasEntry:
    __slots__ = ("id", "ip", "secret", "vendor", "coa_port", "require_ma", "agent_id", "name", "key")

    def __init__(self, nas: Nas):
        self.id = nas.id
        self.ip = nas.ip
        self.secret = (nas.secret or "").encode()
        self.key = Keyed(self.secret)
        self.vendor = nas.vendor
        self.coa_port = nas.coa_port
        self.require_ma = bool(nas.require_message_authenticator)
        self.agent_id = nas.agent_id
        self.name = nas.name


class TariffEntry:
    __slots__ = ("id", "speed_in", "speed_out", "price_per_minute", "prepaid_minutes", "framed_pool", "version")

    def __init__(self, tariff: Tariff):
        self.id = tariff.id
        self.speed_in = tariff.speed_in_kbit
        self.speed_out = tariff.speed_out_kbit
        self.price_per_minute = tariff.price_per_minute
        self.prepaid_minutes = tariff.prepaid_minutes
        self.framed_pool = tariff.framed_pool
        self.version = tariff.version

    def key(self):
        return (self.speed_in, self.speed_out, self.price_per_minute, self.prepaid_minutes, self.framed_pool)


class AgentOptions(RadiusOptions):
    """A RADIUS agent as its cache keeps it: its options with their
    defaults (lanbill.network.agent_options.RadiusOptions, with mode_for),
    its name and listen address."""

    __slots__ = ("id", "name", "listen_address", "raw")

    def __init__(self, agent: Agent):
        super().__init__(agent.options)
        self.id = agent.id
        self.name = agent.name
        self.listen_address = agent.listen_address or "0.0.0.0"
        self.raw = dict(agent.options or {})

    def key(self):
        return tuple(sorted((k, str(v)) for k, v in self.raw.items()))


def entry_speed(entry: AccountEntry, tariff: TariffEntry | None) -> tuple[int, int]:
    """(download, upload) kbit/s of a cached account (radius_access.speed_of)."""
    return speed_of(entry.bandwidth_kbit, (tariff.speed_in, tariff.speed_out) if tariff is not None else None)


class Cache:
    """Accounts, NAS, tariffs and open sessions of the given agents."""

    def __init__(self, agent_ids: list[int]):
        self.agent_ids = list(agent_ids)
        self.accounts: dict[tuple[int, str], AccountEntry] = {}
        self.accounts_by_id: dict[int, AccountEntry] = {}
        self.nas_by_ip: dict[str, NasEntry] = {}
        self.nas_by_id: dict[int, NasEntry] = {}
        self.tariffs: dict[int, TariffEntry] = {}
        self.agents: dict[int, AgentOptions] = {}
        self.open_sessions: dict[int, int] = {}  # account id -> number of open sessions
        self.session_owner: dict[int, int] = {}  # session_key(...) -> account id
        self.recent_accepts: dict[int, list] = {}  # account id -> monotonic times of Accepts not yet seen as sessions
        self.funds: dict[int, object] = {}  # agreement id -> available funds (time tariffs only)
        self.account_watermark: dt.datetime | None = None
        self.seen_versions: dict[int, dt.datetime] = {}  # account id -> updated_at last loaded (deleted too)
        self.session_watermark: dt.datetime | None = None
        self.lock = threading.Lock()
        # callables(old_entry, new_entry, old_tariff=None) for speed-change CoA:
        # an account changed (old_tariff None: its tariff is in self.tariffs),
        # or its tariff's terms changed (old_tariff: the tariff before)
        self.listeners = []
        # reply attributes shared by accounts alike: (agent, tariff, bandwidth, vendor, mode) -> bytes
        self.reply_cache: dict = {}
        self.refreshed_at = 0.0
        self.refresh_errors = 0

    # -- loading ---------------------------------------------------------------

    def load(self, freeze: bool = False) -> None:
        with agent_connection():
            self._load_small()
            self._load_accounts(None)
            self._load_sessions(None)
            self._load_funds()
        release_memory(freeze)
        self.refreshed_at = time.monotonic()

    def refresh(self) -> None:
        with agent_connection():
            self._load_small()
            self._load_accounts(self.account_watermark)
            self._load_sessions(self.session_watermark)
            self._load_funds()
        self.refreshed_at = time.monotonic()

    def _load_small(self) -> None:
        agents = {agent.id: AgentOptions(agent) for agent in Agent.select().where(Agent.id.in_(self.agent_ids))}
        nas_list = [NasEntry(nas) for nas in Nas.select()]
        tariffs = {tariff.id: TariffEntry(tariff) for tariff in Tariff.select()}
        changed = (
            any(self.tariffs.get(i) is None or self.tariffs[i].key() != t.key() for i, t in tariffs.items())
            or any(self.agents.get(i) is None or self.agents[i].key() != a.key() for i, a in agents.items())
        )
        old_tariffs = self.tariffs
        self.agents = agents
        self.nas_by_ip = {n.ip: n for n in nas_list}
        self.nas_by_id = {n.id: n for n in nas_list}
        self.tariffs = tariffs
        if changed:
            self.reply_cache = {}
        if changed and self.accounts_by_id and self.listeners:
            moved = {i: old_tariffs[i] for i, t in tariffs.items()
                     if i in old_tariffs and old_tariffs[i].key() != t.key()}
            if moved:
                for entry in list(self.accounts_by_id.values()):
                    before = moved.get(entry.tariff_id)
                    if before is not None:
                        # the account is the same; its tariff was `before`
                        for listener in self.listeners:
                            listener(entry, entry, before)

    def _load_accounts(self, since: dt.datetime | None) -> None:
        # The next poll looks back OVERLAP from this poll's start: a row
        # committed after this poll's snapshot was stamped at most OVERLAP
        # before its commit.  (The newest row alone would keep a bulk
        # import inside the window for as long as nothing newer came.)
        poll_started = now_utc()
        query = (
            Account.select(Account.id, Account.agent, Account.login, Account.password, Account.state,
                           Account.tariff, Account.bandwidth_kbit, Account.max_sessions, Account.agreement,
                           Account.updated_at, Account.deleted)
            .where(Account.agent.in_(self.agent_ids))
        )
        if since is None:  # the full load goes in id ranges: 100,000 rows never sit in one list
            rows = self._in_chunks(query)
            ips = self._load_ips(None)
        else:
            # The overlap window is read as (id, updated_at) only; whole rows
            # (with their passwords to decrypt) only for versions not seen yet.
            # Reading whole rows here re-read every account of a bulk import
            # each second for good: the window hangs on the newest change.
            recent = (Account.select(Account.id, Account.updated_at)
                      .where(Account.agent.in_(self.agent_ids) & (Account.updated_at >= since - OVERLAP)).tuples())
            seen = self.seen_versions
            changed = [i for i, updated_at in recent if seen.get(i) != updated_at]
            rows = []
            for start in range(0, len(changed), 500):
                rows.extend(query.where(Account.id.in_(changed[start:start + 500])).tuples())
            ips = self._load_ips([r[0] for r in rows])
        newest = self.account_watermark
        for row in rows:
            (account_id, agent_id, login, password, state, tariff_id, bandwidth, max_sessions, agreement_id,
             updated_at, deleted) = row
            if newest is None or updated_at > newest:
                newest = updated_at
            self.seen_versions[account_id] = updated_at
            old = self.accounts_by_id.get(account_id)
            if old is not None and old.updated_at == updated_at and since is not None:
                continue
            if deleted:
                if old is not None:
                    self.accounts.pop((old.agent_id, old.login), None)
                    self.accounts_by_id.pop(account_id, None)
                continue
            entry = AccountEntry(
                (account_id, agent_id, login, password, state, tariff_id,
                 bandwidth, max_sessions, agreement_id, updated_at),
                ips.get(account_id),
            )
            if old is not None and (old.agent_id, old.login) != (agent_id, login):
                self.accounts.pop((old.agent_id, old.login), None)
            self.accounts[(agent_id, login)] = entry
            self.accounts_by_id[account_id] = entry
            if old is not None:
                for listener in self.listeners:
                    listener(old, entry)
        self.account_watermark = max(newest, poll_started) if newest else poll_started

    @staticmethod
    def _in_chunks(query, size: int = 5000):
        last = 0
        while True:
            chunk = list(query.where(Account.id > last).order_by(Account.id).limit(size).tuples())
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]

    def _load_ips(self, ids):
        """The first IPv4 host address of each account (Framed-IP-Address)."""
        out = {}
        query = AccountIp.select(AccountIp.account, AccountIp.network).order_by(AccountIp.id)
        if ids is not None:
            if not ids:
                return out
            chunks = [ids[i:i + 500] for i in range(0, len(ids), 500)]
            rows = []
            for chunk in chunks:
                rows.extend(query.where(AccountIp.account.in_(chunk)).tuples())
        else:
            rows = query.tuples().iterator()
        for account_id, network in rows:
            if account_id in out:
                continue
            try:
                net = ipaddress.ip_network(network)
            except ValueError:
                continue
            if net.version == 4 and net.prefixlen == 32:
                out[account_id] = str(net.network_address)
        return out

    def _load_sessions(self, since: dt.datetime | None) -> None:
        query = RadiusSession.select(RadiusSession.nas_id, RadiusSession.acct_session_id, RadiusSession.account_id,
                                     RadiusSession.stopped_at, RadiusSession.state_changed_at)
        if since is None:
            query = query.where(RadiusSession.stopped_at.is_null())
        else:
            query = query.where(RadiusSession.state_changed_at >= since - OVERLAP)
        poll_started = now_utc()  # as in _load_accounts
        newest = self.session_watermark
        # Raw rows: Peewee's per-row conversion (timestamps parsed from text
        # on SQLite) held the GIL long enough to delay the event loop.  The
        # raw timestamps order correctly as they are (ISO text or datetime).
        rows = sorted(database.execute(query).fetchall(), key=lambda r: r[4])
        if rows:
            changed_at = RadiusSession.state_changed_at.python_value(rows[-1][4])
            if newest is None or changed_at > newest:
                newest = changed_at
        for nas_id, session_id, account_id, stopped_at, _ in rows:
            self.note_session(session_key(nas_id, session_id), account_id, stopped_at is None)
        self.session_watermark = max(newest, poll_started) if newest else poll_started

    def _load_funds(self) -> None:
        """Available funds of agreements whose accounts are on per-minute
        tariffs (for Session-Timeout); a handful of rows."""
        time_tariffs = [t.id for t in self.tariffs.values() if t.price_per_minute]
        if not time_tariffs:
            self.funds = {}
            return
        query = (
            Agreement.select(Agreement.id, Agreement.balance, Agreement.credit_limit, Agreement.promised_amount)
            .join(Account, on=(Account.agreement == Agreement.id))
            .where(Account.tariff.in_(time_tariffs) & Account.agent.in_(self.agent_ids))
            .distinct()
        )
        self.funds = {a.id: a.balance + a.credit_limit + a.promised_amount for a in query}

    # -- sessions ----------------------------------------------------------------

    def note_session(self, key: int, account_id, is_open: bool) -> None:
        """Record that session `key` (session_key(nas id, Acct-Session-Id))
        is open or closed (from the writer thread and the refresher: under
        the lock)."""
        with self.lock:
            self._note_session(key, account_id, is_open)

    def _note_session(self, key: int, account_id, is_open: bool) -> None:
        if is_open:
            if account_id is None or key in self.session_owner:
                return
            self.session_owner[key] = account_id
            self.open_sessions[account_id] = self.open_sessions.get(account_id, 0) + 1
            pending = self.recent_accepts.get(account_id)
            if pending:
                pending.pop(0)
        else:
            if key not in self.session_owner:
                return
            owner = self.session_owner.pop(key)
            left = self.open_sessions.get(owner, 1) - 1
            if left > 0:
                self.open_sessions[owner] = left
            else:
                self.open_sessions.pop(owner, None)

    def reload_sessions(self) -> None:
        """Rebuild the open-session view from the table (after a NAS reboot
        closed many at once; rare)."""
        with agent_connection():
            with self.lock:
                self.session_owner = {}
                self.open_sessions = {}
            self._load_sessions(None)

    def session_count(self, account_id: int) -> int:
        """Open sessions plus Accepts of the last 10 s not yet seen starting:
        two logins racing within the accounting delay still count."""
        count = self.open_sessions.get(account_id, 0)
        pending = self.recent_accepts.get(account_id)
        if pending:
            limit = time.monotonic() - 10
            while pending and pending[0] < limit:
                pending.pop(0)
            count += len(pending)
        return count

    def note_accept(self, account_id: int) -> None:
        self.recent_accepts.setdefault(account_id, []).append(time.monotonic())


@contextlib.contextmanager
def agent_connection(cache_kib: int = 2000):
    """A connection for an agent thread.  On SQLite the page cache is cut
    from the web's 64 MB to `cache_kib`: an agent keeps several threads'
    connections open and reads little but the same few pages."""
    with connection() as db:
        if is_sqlite():
            db.execute_sql(f"PRAGMA cache_size = -{int(cache_kib)}")
            # No automatic checkpoint after an agent's commits: it ran inside
            # the write lock (with its fsync) and held the accounting writer
            # up for 10-25 ms.  The maintenance thread checkpoints instead.
            db.execute_sql("PRAGMA wal_autocheckpoint = 0")
        yield db


def release_memory(freeze: bool = False) -> None:
    """Collect, then hand freed heap back to the OS (glibc malloc_trim):
    loading 100,000 accounts decrypts as many Fernet tokens, whose garbage
    would otherwise stay in the process for good."""
    gc.collect()
    if freeze:
        # The cache's 100,000+ long-lived objects leave the collector's view:
        # full collections over them paused the loop for tens of milliseconds.
        gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError) as exc:  # not glibc: the memory is merely kept
        log.debug("malloc_trim unavailable: %s", exc)


def session_key(nas_id: int, acct_session_id: str) -> int:
    """A compact in-memory key of a session (a hash, not a tuple: 100,000
    open sessions cost a few MB instead of tens)."""
    return hash((nas_id, acct_session_id))


def run_refresher(cache: Cache, stop: threading.Event, interval: float = 1.0) -> threading.Thread:
    """Refresh the cache every `interval` seconds until `stop`.  A failed
    refresh is logged, counted in `cache.refresh_errors` and retried with
    a fresh connection."""

    def loop():
        while not stop.wait(interval):
            try:
                cache.refresh()
            except Exception:  # a database hiccup must not stop the agent
                cache.refresh_errors += 1
                log.exception("RADIUS cache refresh failed (%d so far)", cache.refresh_errors)
                try:
                    database.close()
                except Exception:
                    log.exception("RADIUS cache: closing the broken connection failed")

    thread = threading.Thread(target=loop, name="radius-cache", daemon=True)
    thread.start()
    return thread
