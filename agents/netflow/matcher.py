"""Matching flows to accounts and traffic categories, in memory.

Longest-prefix match, vectorised: for every prefix length in use, a sorted
array of network addresses; an address is masked and looked up with one
`np.searchsorted` per length, longest first.  Categories are keyed by
(tariff, network) so one lookup serves every tariff.  IPv6 (rarer) is
matched per distinct address with dictionaries per prefix length.
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


def _flatten(entries) -> tuple[np.ndarray, np.ndarray]:
    """Nested prefixes → disjoint intervals: (sorted starts, values), each
    value the longest prefix covering that interval (-1: none).  Keys may
    carry a tag above bit 32 (the tariff), so one array serves all tags."""
    ranges = sorted({(key, key + (1 << (32 - length)) - 1, -length): value for key, length, value in entries}.items())
    starts: list[int] = []
    values: list[int] = []

    def emit(position: int, value: int) -> None:
        if starts and starts[-1] == position:
            values[-1] = value
        else:
            starts.append(position)
            values.append(value)

    stack: list[tuple[int, int]] = []  # (end, value) of the open prefixes, innermost last
    for (first, last, _), value in ranges:
        while stack and stack[-1][0] < first:
            ended, _ = stack.pop()
            emit(ended + 1, stack[-1][1] if stack else -1)
        emit(first, value)
        stack.append((last, value))
    while stack:
        ended, _ = stack.pop()
        emit(ended + 1, stack[-1][1] if stack else -1)
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
        self.padding = len(dense) * 65536
        self.flat = np.concatenate([self.blocks.reshape(-1), np.array([-1], dtype=np.int32)])
        del self.blocks

    def lookup(self, addresses: np.ndarray) -> np.ndarray:
        if not self.has_blocks:
            return self.rest.lookup(addresses)
        addresses = addresses.astype(np.uint32, copy=False)
        block = self.block_of[addresses >> np.uint32(16)].astype(np.int64)
        # addresses outside the direct blocks read cell 0 of a padding row of -1
        cell = np.where(block >= 0, (block << 16) | (addresses & np.uint32(0xFFFF)), self.padding)
        result = self.flat[cell].astype(np.int64)
        if len(self.rest.starts):
            missing = result < 0
            if missing.any():
                result[missing] = self.rest.lookup(addresses[missing])
        return result


class _Table6:
    """IPv6 prefixes: {length: {network int: value}}, longest first."""

    def __init__(self, entries):
        self.levels: dict[int, dict] = {}
        for prefix, length, value in entries:
            self.levels.setdefault(length, {}).setdefault(prefix, value)
        self.order = sorted(self.levels, reverse=True)

    def lookup_one(self, address: int, tag=None):
        for length in self.order:
            mask = ((1 << 128) - 1) ^ ((1 << (128 - length)) - 1)
            value = self.levels[length].get((tag, address & mask) if tag is not None else address & mask)
            if value is not None:
                return value
        return -1


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
        self.accounts6 = _Table6(v6)
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
                    c6.append(((tag, int(network.network_address)), network.prefixlen, category.category_id))
        self.categories4 = _Table(c4)
        self.categories6 = _Table6([((t, p), length, v) for (t, p), length, v in c6])

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
        high = self.account_tariff[positions] << np.uint64(32)
        return np.maximum(self.categories4.lookup(remotes, high), 0)

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
        """Account positions for (n, 2) uint64 IPv6 addresses."""
        if not len(addresses):
            return np.zeros(0, dtype=np.int64)
        unique, inverse = np.unique(addresses, axis=0, return_inverse=True)
        found = np.array([self.accounts6.lookup_one((int(hi) << 64) | int(lo)) for hi, lo in unique],
                         dtype=np.int64)
        return found[inverse.reshape(-1)]

    def categories_for6(self, positions: np.ndarray, remotes: np.ndarray) -> np.ndarray:
        out = np.zeros(len(positions), dtype=np.int64)
        for i, (position, (hi, lo)) in enumerate(zip(positions.tolist(), remotes.tolist(), strict=True)):
            tag = int(self.account_tariff[position])
            out[i] = max(self.categories6.lookup_one((int(hi) << 64) | int(lo), tag), 0)
        return out


def address_text(value, v6: bool) -> str:
    """A remote address for detail rows, as text."""
    if v6:
        hi, lo = value
        return str(ipaddress.IPv6Address((int(hi) << 64) | int(lo)))
    return str(ipaddress.IPv4Address(int(value)))
