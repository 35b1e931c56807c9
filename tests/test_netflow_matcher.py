"""Longest-prefix matching (agents.netflow.matcher) against a brute-force
reference: nested prefixes, /16 direct blocks and the interval fallback,
categories per tariff, IPv6."""

from __future__ import annotations

import ipaddress
import random

import numpy as np

from agents.netflow.matcher import AccountEntry, CategoryEntry, Matcher


def brute(networks, address):
    best, best_len = -1, -1
    for value, text in networks:
        network = ipaddress.ip_network(text)
        if address in network and network.prefixlen > best_len:
            best, best_len = value, network.prefixlen
    return best


def test_accounts_longest_prefix_matches_brute_force():
    rng = random.Random(5)
    accounts, flat = [], []
    # a dense /16 (direct array) with nested subnets, plus scattered prefixes of every length
    for i in range(300):
        accounts.append(AccountEntry(i + 1, 1, [f"10.1.{i // 250}.{i % 250}/32"]))
    extra = ["10.1.0.0/24", "10.1.0.0/30", "10.0.0.0/8", "172.16.5.0/24", "172.16.5.128/25", "192.0.2.77/32",
             "0.0.0.0/1", "10.1.1.0/28"]
    for j, text in enumerate(extra):
        accounts.append(AccountEntry(1000 + j, 1, [text]))
    for a in accounts:
        flat.extend((a.account_id, n) for n in a.networks)
    matcher = Matcher(accounts, [])
    assert matcher.accounts4.has_blocks
    probes = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(300)]
    probes += [ipaddress.IPv4Address(f"10.1.{rng.randrange(3)}.{rng.randrange(256)}") for _ in range(300)]
    probes += [ipaddress.IPv4Address("172.16.5.200"), ipaddress.IPv4Address("172.16.5.1")]
    found = matcher.match4(np.array([int(p) for p in probes], dtype=np.uint32))
    got = [int(matcher.account_ids[f]) if f >= 0 else -1 for f in found]
    assert got == [brute(flat, p) for p in probes]


def test_categories_per_tariff_and_catch_all():
    accounts = [AccountEntry(1, 10, ["10.0.0.1/32"]), AccountEntry(2, 20, ["10.0.0.2/32"])]
    categories = [CategoryEntry(100, 10, ["192.168.0.0/16"]), CategoryEntry(101, 10, []),
                  CategoryEntry(200, 20, ["192.168.1.0/24"])]
    matcher = Matcher(accounts, categories)
    positions = np.array([0, 0, 1, 1], dtype=np.int64)
    remotes = np.array([int(ipaddress.IPv4Address(a)) for a in
                        ("192.168.7.7", "8.8.8.8", "192.168.1.9", "192.168.7.7")], dtype=np.uint32)
    assert matcher.categories_for4(positions, remotes).tolist() == [100, 101, 200, 0]


def test_ipv6_accounts_and_categories():
    accounts = [AccountEntry(1, 10, ["2001:db8::/64"]), AccountEntry(2, 10, ["2001:db8::5/128"])]
    matcher = Matcher(accounts, [CategoryEntry(7, 10, ["fd00::/8"])])

    def halves(text):
        value = int(ipaddress.IPv6Address(text))
        return [value >> 64, value & ((1 << 64) - 1)]

    addresses = np.array([halves("2001:db8::1"), halves("2001:db8::5"), halves("2001:db9::1")], dtype=np.uint64)
    assert matcher.match6(addresses).tolist() == [0, 1, -1]
    remotes = np.array([halves("fd00::1"), halves("2a00::1")], dtype=np.uint64)
    assert matcher.categories_for6(np.array([0, 1]), remotes).tolist() == [7, 0]
