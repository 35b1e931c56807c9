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


class _Table:
    """Prefix tables for IPv4: [(mask, sorted keys, values)], longest first."""

    def __init__(self, entries, key_shift: int = 0):
        by_length: dict[int, dict[int, int]] = {}
        for prefix, length, value in entries:
            by_length.setdefault(length, {}).setdefault(prefix, value)
        self.levels = []
        for length in sorted(by_length, reverse=True):
            items = sorted(by_length[length].items())
            keys = np.array([k for k, _ in items], dtype=np.uint64)
            values = np.array([v for _, v in items], dtype=np.int64)
            mask = np.uint64((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF if length else 0)
            self.levels.append((mask, keys, values))

    def lookup(self, addresses: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
        """Values of the longest prefix containing each address, -1 if none.
        `high` (uint64, already shifted) is OR-ed into the key (the tariff)."""
        result = np.full(len(addresses), -1, dtype=np.int64)
        if not self.levels or not len(addresses):
            return result
        addresses = addresses.astype(np.uint64)
        first = True
        for mask, keys, values in self.levels:
            query = addresses & mask
            if high is not None:
                query |= high
            index = np.searchsorted(keys, query)
            np.minimum(index, len(keys) - 1, out=index)
            hit = keys[index] == query
            if first:
                result = np.where(hit, values[index], -1)
                first = False
            else:
                update = hit & (result < 0)
                result[update] = values[index[update]]
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
        self.accounts4 = _Table(v4)
        self.accounts6 = _Table6(v6)
        c4, c6 = [], []
        for category in categories:
            tag = tariff_index[category.tariff_id]
            networks = category.networks or ["0.0.0.0/0", "::/0"]
            for text in networks:
                network = ipaddress.ip_network(text, strict=False)
                if network.version == 4:
                    c4.append(((tag << 32) | int(network.network_address), network.prefixlen, category.category_id))
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

    def categories_for4(self, positions: np.ndarray, remotes: np.ndarray) -> np.ndarray:
        """Category ids (0: none of the tariff's) for matched positions."""
        if not len(positions):
            return np.zeros(0, dtype=np.int64)
        high = self.account_tariff[positions] << np.uint64(32)
        found = self.categories4.lookup(remotes, high)
        return np.maximum(found, 0)

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
