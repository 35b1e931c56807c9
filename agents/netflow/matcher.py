"""Matching flows to accounts and traffic categories, in memory.

Longest-prefix match, vectorised: nested prefixes are flattened into
disjoint intervals (each carrying its longest prefix), so an address is
found with one `np.searchsorted` whatever the prefix lengths.  IPv4
categories are keyed by (tariff, network) so one lookup serves every
tariff; dense /16 blocks of subscriber addresses are direct arrays.  IPv6
uses the same intervals over the upper 64 bits when every prefix is /64 or
shorter (the usual case: subscribers get a /64, /56 or /48), else over the
full 128 bits as 16-byte big-endian strings; categories have one table per
tariff.
The cache mirrors the accounts of one NetFlow agent and is rebuilt when
`Account.updated_at` or the categories change (`Snapshot.signature`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np


@dataclass
class AccountEntry:
    account_id: int
    tariff_id: int
    networks: list
    keep_remote_address: bool = False
    keep_remote_port: bool = False


@dataclass
class CategoryEntry:
    category_id: int
    tariff_id: int
    networks: list  # empty: matches every address ("the rest")


def _intervals(entries, bits: int = 32) -> tuple[list[int], list[int]]:
    """Nested prefixes → disjoint intervals: (sorted starts, values), each
    value the longest prefix covering that interval (-1: none).  Keys may
    carry a tag above bit `bits` (the tariff), so one list serves all tags."""
    unique = {(key, key + (1 << (bits - length)) - 1): value for key, length, value in entries}
    # by start, and the wider of two prefixes with the same start first (it is the outer one)
    ranges = sorted(unique.items(), key=lambda item: (item[0][0], -item[0][1]))
    starts: list[int] = []
    values: list[int] = []

    def emit(position: int, value: int) -> None:
        if starts and starts[-1] == position:
            values[-1] = value
        else:
            starts.append(position)
            values.append(value)

    stack: list[tuple[int, int]] = []  # (end, value) of the open prefixes, innermost last
    for (first, last), value in ranges:
        while stack and stack[-1][0] < first:
            ended, _ = stack.pop()
            emit(ended + 1, stack[-1][1] if stack else -1)
        emit(first, value)
        stack.append((last, value))
    while stack:
        ended, _ = stack.pop()
        emit(ended + 1, stack[-1][1] if stack else -1)
    return starts, values


def _flatten(entries) -> tuple[np.ndarray, np.ndarray]:
    starts, values = _intervals(entries, 32)
    return np.array(starts, dtype=np.uint64), np.array(values, dtype=np.int64)


class _Table:
    """IPv4 longest-prefix match as sorted disjoint intervals: one
    `np.searchsorted` per lookup, whatever the prefix lengths."""

    def __init__(self, entries):
        self.starts, self.values = _flatten(entries)

    def lookup(self, addresses: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
        """Values of the longest prefix containing each address, -1 if none.
        `high` (uint64, already shifted) is OR-ed into the key (the tariff)."""
        if not len(self.starts) or not len(addresses):
            return np.full(len(addresses), -1, dtype=np.int64)
        query = addresses.astype(np.uint64)
        if high is not None:
            query |= high
        index = np.searchsorted(self.starts, query, side="right") - 1
        found = self.values[np.maximum(index, 0)]
        found[index < 0] = -1
        return found


class _Categories4:
    """IPv4 categories keyed by (tariff tag, address): a direct table of
    the value of every (tag, /16) that one interval covers whole, and the
    sorted intervals for the few /16s split between categories."""

    MAX_TAGS = 64  # 64 × 65536 × 2 bytes = 8 MiB at most
    MIXED = -2

    def __init__(self, entries, tags: int):
        self.table = _Table(entries)
        self.direct = None
        if not len(self.table.starts) or tags > self.MAX_TAGS or self.table.values.max() > np.iinfo(np.int16).max:
            return
        first = np.arange(max(tags, 1) * 65536, dtype=np.uint64) << np.uint64(16)  # (tag << 32) | (block << 16)
        at_first = np.searchsorted(self.table.starts, first, side="right") - 1
        at_last = np.searchsorted(self.table.starts, first + np.uint64(0xFFFF), side="right") - 1
        values = np.where(at_first >= 0, self.table.values[np.maximum(at_first, 0)], -1)
        self.direct = np.where(at_first == at_last, values, self.MIXED).astype(np.int16)

    def lookup(self, addresses: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Values for uint32 `addresses` in the tables of int64 `tags`."""
        if self.direct is None:
            return self.table.lookup(addresses, tags.astype(np.uint64) << np.uint64(32))
        addresses = addresses.astype(np.uint32, copy=False)
        found = self.direct[(tags << 16) | (addresses >> np.uint32(16))].astype(np.int64)
        mixed = found == self.MIXED
        if mixed.any():
            found[mixed] = self.table.lookup(addresses[mixed], tags[mixed].astype(np.uint64) << np.uint64(32))
        return found


class _Accounts4:
    """Account addresses: /16 blocks with many subscribers become direct
    arrays (one gather per address, no search); the rest, and prefixes
    shorter than /16, are sorted intervals."""

    DENSE = 256  # prefixes in a /16 before it gets a direct array
    MAX_BLOCKS = 128  # 128 × 256 KiB = 32 MiB at most

    def __init__(self, entries):
        per_block: dict[int, int] = {}
        for prefix, length, _ in entries:
            if length >= 16:
                per_block[prefix >> 16] = per_block.get(prefix >> 16, 0) + 1
        dense = sorted((b for b, n in per_block.items() if n >= self.DENSE), key=lambda b: -per_block[b])
        dense = sorted(dense[:self.MAX_BLOCKS])
        self.block_of = np.full(65536, -1, dtype=np.int32)
        self.blocks = np.full((len(dense), 65536), -1, dtype=np.int32)
        for i, block in enumerate(dense):
            self.block_of[block] = i
        rest = []
        for prefix, length, value in sorted(entries, key=lambda e: e[1]):  # shorter first: longer paint over
            index = self.block_of[prefix >> 16] if length >= 16 else -1
            if index >= 0:
                low = prefix & 0xFFFF
                self.blocks[index, low:low + (1 << (32 - length))] = value
            else:
                rest.append((prefix, length, value))
        self.rest = _Table(rest)
        self.has_blocks = bool(dense)
        # where each /16 starts in `flat`; addresses outside the direct
        # blocks read a last padding row of -1, so no branch is needed
        self.block_base = np.where(self.block_of >= 0, self.block_of.astype(np.int64) << 16, len(dense) << 16)
        self.flat = np.concatenate([self.blocks.reshape(-1), np.full(65536, -1, dtype=np.int32)])
        del self.blocks

    def lookup(self, addresses: np.ndarray) -> np.ndarray:
        if not self.has_blocks:
            return self.rest.lookup(addresses)
        addresses = addresses.astype(np.uint32, copy=False)
        cell = self.block_base[addresses >> np.uint32(16)] + (addresses & np.uint32(0xFFFF))
        result = self.flat[cell].astype(np.int64)
        if len(self.rest.starts):
            missing = result < 0
            if missing.any():
                result[missing] = self.rest.lookup(addresses[missing])
        return result


class _Intervals6:
    """IPv6 longest-prefix match over disjoint intervals: uint64 starts of
    the upper half when no prefix is longer than /64, else 16-byte
    big-endian strings (numpy compares them bytewise, i.e. numerically)."""

    def __init__(self, entries):
        self.narrow = all(length <= 64 for _, length, _ in entries)
        if self.narrow:
            starts, values = _intervals([(network >> 64, length, value) for network, length, value in entries], 64)
            keep = [i for i, start in enumerate(starts) if start < 1 << 64]  # past the last address
            self.starts = np.array([starts[i] for i in keep], dtype=np.uint64)
        else:
            starts, values = _intervals(entries, 128)
            keep = [i for i, start in enumerate(starts) if start < 1 << 128]
            self.starts = np.frombuffer(b"".join(starts[i].to_bytes(16, "big") for i in keep), dtype="S16")
        self.values = np.array([values[i] for i in keep], dtype=np.int64)

    def lookup(self, addresses: np.ndarray) -> np.ndarray:
        if self.narrow:
            query = addresses[:, 0]
        else:
            query = np.ascontiguousarray(addresses, dtype=">u8").view("S16").reshape(-1)
        index = np.searchsorted(self.starts, query, side="right") - 1
        found = self.values[np.maximum(index, 0)]
        found[index < 0] = -1
        return found


class _Table6:
    """IPv6 prefixes, optionally one table per tag (the tariff):
    entries are (tag or None, network as int, prefix length, value)."""

    def __init__(self, entries):
        by_tag: dict = {}
        for tag, network, length, value in entries:
            by_tag.setdefault(tag, []).append((network, length, value))
        self.tables = {tag: _Intervals6(items) for tag, items in by_tag.items()}

    def lookup(self, addresses: np.ndarray, tags: np.ndarray | None = None) -> np.ndarray:
        """Values of the longest prefix containing each (n, 2) uint64
        address (-1: none); with `tags`, in the table of each one's tag."""
        n = len(addresses)
        if tags is None:
            table = self.tables.get(None)
            return table.lookup(addresses) if table is not None and n else np.full(n, -1, dtype=np.int64)
        out = np.full(n, -1, dtype=np.int64)
        if not n:
            return out
        first = int(tags[0])
        groups = [(first, slice(None))] if (tags == first).all() else \
            [(int(t), tags == t) for t in np.unique(tags)]
        for tag, sel in groups:
            table = self.tables.get(tag)
            if table is not None:
                out[sel] = table.lookup(addresses[sel])
        return out


class Matcher:
    """Accounts and categories of one agent, ready for vectorised lookups."""

    def __init__(self, accounts: list[AccountEntry], categories: list[CategoryEntry]):
        self.accounts = accounts
        n = len(accounts)
        self.account_ids = np.array([a.account_id for a in accounts], dtype=np.int64)
        tariffs = sorted({a.tariff_id for a in accounts} | {c.tariff_id for c in categories})
        tariff_index = {t: i for i, t in enumerate(tariffs)}
        self.account_tariff = np.array([tariff_index[a.tariff_id] for a in accounts], dtype=np.uint64)
        self.keep_address = np.array([a.keep_remote_address or a.keep_remote_port for a in accounts], dtype=bool)
        self.keep_port = np.array([a.keep_remote_port for a in accounts], dtype=bool)
        self.any_detail = bool(self.keep_address.any()) if n else False
        v4, v6 = [], []
        for position, account in enumerate(accounts):
            for text in account.networks:
                network = ipaddress.ip_network(text, strict=False)
                (v4 if network.version == 4 else v6).append(
                    (int(network.network_address), network.prefixlen, position))
        self.accounts4 = _Accounts4(v4)
        self.accounts6 = _Table6([(None, network, length, position) for network, length, position in v6])
        # Slots: a category's 1-based place among its tariff's categories
        # (0: none).  IPv4 lookups answer slots, so counters can live in a
        # dense (account position × slot) array; slot_category maps back.
        slots_of: dict[int, list[int]] = {}
        for category in categories:
            slots_of.setdefault(tariff_index[category.tariff_id], []).append(category.category_id)
        self.slots = 1 + max((len(v) for v in slots_of.values()), default=0)
        self.slot_category = np.zeros((max(len(tariffs), 1), self.slots), dtype=np.int64)
        for tag, ids in slots_of.items():
            self.slot_category[tag, 1:len(ids) + 1] = ids
        c4, c6 = [], []
        for category in categories:
            tag = tariff_index[category.tariff_id]
            slot = slots_of[tag].index(category.category_id) + 1
            networks = category.networks or ["0.0.0.0/0", "::/0"]
            for text in networks:
                network = ipaddress.ip_network(text, strict=False)
                if network.version == 4:
                    c4.append(((tag << 32) | int(network.network_address), network.prefixlen, slot))
                else:
                    c6.append((tag, int(network.network_address), network.prefixlen, slot))
        self.categories4 = _Categories4(c4, len(tariffs))
        self.categories6 = _Table6(c6)

    def __len__(self):
        return len(self.accounts)

    # --- IPv4 -----------------------------------------------------------------

    def match4(self, addresses: np.ndarray) -> np.ndarray:
        """Account positions (-1: none) for uint32 addresses."""
        return self.accounts4.lookup(addresses)

    def slots_for4(self, positions: np.ndarray, remotes: np.ndarray) -> np.ndarray:
        """Category slots (0: none of the tariff's) for matched positions."""
        if not len(positions):
            return np.zeros(0, dtype=np.int64)
        return np.maximum(self.categories4.lookup(remotes, self.account_tariff[positions].astype(np.int64)), 0)

    def categories_for4(self, positions: np.ndarray, remotes: np.ndarray) -> np.ndarray:
        """Category ids (0: none of the tariff's) for matched positions."""
        slots = self.slots_for4(positions, remotes)
        return self.slot_category[self.account_tariff[positions].astype(np.int64), slots] if len(slots) else slots

    def keys_of(self, dense_index: np.ndarray) -> np.ndarray:
        """Counter keys (account_id << 32 | category_id) of dense indexes
        (position × slots + slot)."""
        positions, slots = np.divmod(dense_index, self.slots)
        categories = self.slot_category[self.account_tariff[positions].astype(np.int64), slots]
        return (self.account_ids[positions].astype(np.uint64) << np.uint64(32)) | categories.astype(np.uint64)

    # --- IPv6 -----------------------------------------------------------------

    def match6(self, addresses: np.ndarray) -> np.ndarray:
        """Account positions (-1: none) for (n, 2) uint64 IPv6 addresses."""
        return self.accounts6.lookup(addresses)

    def slots_for6(self, positions: np.ndarray, remotes: np.ndarray) -> np.ndarray:
        """Category slots (0: none of the tariff's) for matched positions."""
        if not len(positions):
            return np.zeros(0, dtype=np.int64)
        return np.maximum(self.categories6.lookup(remotes, self.account_tariff[positions].astype(np.int64)), 0)

    def categories_for6(self, positions: np.ndarray, remotes: np.ndarray) -> np.ndarray:
        """Category ids (0: none of the tariff's) for matched positions."""
        slots = self.slots_for6(positions, remotes)
        return self.slot_category[self.account_tariff[positions].astype(np.int64), slots] if len(slots) else slots


def address_text(value, v6: bool) -> str:
    """A remote address for detail rows, as text."""
    if v6:
        hi, lo = value
        return str(ipaddress.IPv6Address((int(hi) << 64) | int(lo)))
    return str(ipaddress.IPv4Address(int(value)))
