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


def halves_of(addresses) -> np.ndarray:
    return np.array([[int(a) >> 64, int(a) & ((1 << 64) - 1)] for a in addresses], dtype=np.uint64).reshape(-1, 2)


def random_v6_inside(rng, text):
    network = ipaddress.ip_network(text)
    return ipaddress.IPv6Address(int(network.network_address) | rng.getrandbits(128 - network.prefixlen))


def test_ipv6_accounts_longest_prefix_matches_brute_force():
    """Nested prefixes of every length, both table kinds: /64 and shorter
    only (upper half) and with longer ones (all 128 bits)."""
    rng = random.Random(6)
    short = ["2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:2::/64", "2001:db8:1:3::/64", "2001:db8:1:2::/63",
             "2a00::/12", "::/0", "fd00::/8", "fd00:0:0:ff00::/56"]
    short += [f"2001:db8:{rng.randrange(1 << 16):x}:{rng.randrange(1 << 16):x}::/64" for _ in range(200)]
    long = ["2001:db8:1:2::10/128", "2001:db8:1:2::/120", "2001:db8:1:2:8000::/65", "2001:db8:1:2::ff/128",
            "::1/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]
    for networks in (short, short + long):
        accounts = [AccountEntry(i + 1, 1, [text]) for i, text in enumerate(dict.fromkeys(networks))]
        flat = [(a.account_id, a.networks[0]) for a in accounts]
        matcher = Matcher(accounts, [])
        assert matcher.accounts6.tables[None].narrow == (networks is short)
        probes = [ipaddress.IPv6Address(rng.getrandbits(128)) for _ in range(200)]
        probes += [random_v6_inside(rng, text) for _, text in flat for _ in range(3)]
        probes += [ipaddress.ip_network(text).network_address for _, text in flat]
        probes += [ipaddress.ip_network(text).broadcast_address for _, text in flat]
        found = matcher.match6(halves_of(probes))
        got = [int(matcher.account_ids[f]) if f >= 0 else -1 for f in found]
        assert got == [brute(flat, p) for p in probes]


def test_ipv6_categories_by_longest_prefix_per_tariff():
    accounts = [AccountEntry(1, 10, ["2001:db8:a::/48"]), AccountEntry(2, 20, ["2001:db8:b::/48"]),
                AccountEntry(3, 30, ["2001:db8:c::/48"])]
    categories = [CategoryEntry(100, 10, ["fd00::/8"]), CategoryEntry(101, 10, ["fd00:1::/32", "2a00:1::5/128"]),
                  CategoryEntry(102, 10, []),  # the rest, IPv4 and IPv6
                  CategoryEntry(200, 20, ["fd00:1:2:3::/64"]), CategoryEntry(201, 20, ["fd00::/8"])]
    matcher = Matcher(accounts, categories)
    cases = [  # (account position, remote, category)
        (0, "fd00:2::1", 100), (0, "fd00:1::7", 101), (0, "2a00:1::5", 101), (0, "2a00:1::6", 102),
        (0, "::", 102), (1, "fd00:1:2:3::9", 200), (1, "fd00:1:2:4::9", 201), (1, "2a00::1", 0),
        (2, "fd00::1", 0),  # a tariff without categories
    ]
    positions = np.array([c[0] for c in cases], dtype=np.int64)
    remotes = halves_of(ipaddress.IPv6Address(c[1]) for c in cases)
    assert matcher.categories_for6(positions, remotes).tolist() == [c[2] for c in cases]
    assert matcher.categories_for6(np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.uint64)).tolist() == []


def test_nested_prefixes_with_the_same_start_take_the_longest():
    """A /24 inside a /16 that starts at the same address (categories and
    account subnets outside the direct blocks)."""
    accounts = [AccountEntry(1, 10, ["172.16.0.0/16"]), AccountEntry(2, 10, ["172.16.0.0/24"]),
                AccountEntry(3, 10, ["172.16.0.0/30"])]
    categories = [CategoryEntry(100, 10, ["192.168.0.0/24"]), CategoryEntry(101, 10, ["192.168.0.0/16"]),
                  CategoryEntry(102, 10, ["192.168.0.0/25"])]
    matcher = Matcher(accounts, categories)
    probes = ["172.16.0.1", "172.16.0.9", "172.16.9.9", "172.17.0.0"]
    found = matcher.match4(np.array([int(ipaddress.IPv4Address(p)) for p in probes], dtype=np.uint32))
    assert [int(matcher.account_ids[f]) if f >= 0 else -1 for f in found] == [3, 2, 1, -1]
    remotes = np.array([int(ipaddress.IPv4Address(a)) for a in ("192.168.0.1", "192.168.0.200", "192.168.9.9")],
                       dtype=np.uint32)
    assert matcher.categories_for4(np.zeros(3, dtype=np.int64), remotes).tolist() == [102, 100, 101]


def test_ipv4_categories_match_brute_force_per_tariff():
    """Random nested category networks over a few tariffs: whole /16s come
    from the direct table, split ones from the intervals."""
    rng = random.Random(8)
    categories, per_tariff = [], {}
    for tariff in (1, 2, 3):
        for k in range(6):
            length = rng.choice([8, 12, 16, 16, 20, 24, 28, 32])
            base = rng.choice([0x0A000000, 0xC0A80000, 0xAC100000, rng.getrandbits(32)])
            network = ipaddress.ip_network((base & ~((1 << (32 - length)) - 1), length))
            if any(text == str(network) for _, text in per_tariff.get(tariff, [])):
                continue  # the same network twice in one tariff: which category wins is not defined
            category_id = tariff * 100 + k
            categories.append(CategoryEntry(category_id, tariff, [str(network)]))
            per_tariff.setdefault(tariff, []).append((category_id, str(network)))
    categories.append(CategoryEntry(999, 3, []))  # tariff 3 has a catch-all
    per_tariff[3].append((999, "0.0.0.0/0"))
    accounts = [AccountEntry(t, t, [f"10.255.255.{t}/32"]) for t in (1, 2, 3)]
    matcher = Matcher(accounts, categories)
    assert matcher.categories4.direct is not None
    probes, positions = [], []
    for position, tariff in enumerate((1, 2, 3)):
        for _, text in per_tariff[tariff]:
            network = ipaddress.ip_network(text)
            probes += [network.network_address, network.broadcast_address,
                       ipaddress.IPv4Address(int(network.network_address) | rng.getrandbits(32 - network.prefixlen))]
        probes += [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(50)]
        positions += [position] * (len(probes) - len(positions))
    found = matcher.categories_for4(np.array(positions, dtype=np.int64),
                                    np.array([int(p) for p in probes], dtype=np.uint32))
    expected = [max(brute(per_tariff[(1, 2, 3)[pos]], p), 0) for pos, p in zip(positions, probes, strict=True)]
    assert found.tolist() == expected
