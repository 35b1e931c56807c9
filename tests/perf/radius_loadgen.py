"""RADIUS load generator (a separate process): precomputed packets, raw
UDP sockets, closed loop (N in flight) or open loop (fixed rate).

    python tests/perf/radius_loadgen.py MODE PORT SECRET USERS COUNT [INFLIGHT|RATE] [auth|acct]

Prints one JSON line: sent, received, lost, seconds, rate, p50_ms, p99_ms.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from agents.radius import protocol as p  # noqa: E402


def access_packets(users: int, secret: bytes, count: int) -> list[bytes]:
    out = []
    for i in range(min(count, 50000)):
        n = i % users
        auth = os.urandom(16)
        ident = i % 256
        body = (p.attr(p.USER_NAME, f"user{n}".encode())
                + p.attr(p.USER_PASSWORD, p.pap_encrypt(f"pw{n}".encode(), auth, secret))
                + p.attr_ip(p.NAS_IP_ADDRESS, "127.0.0.1") + p.attr_int(p.NAS_PORT, n)
                + p.attr_int(p.SERVICE_TYPE, 2) + p.attr_int(p.FRAMED_PROTOCOL, 1))
        length = 20 + 18 + len(body)
        header = struct.pack("!BBH", 1, ident, length)
        import hmac

        ma = hmac.digest(secret, header + auth + b"\x50\x12" + bytes(16) + body, "md5")
        out.append(header + auth + b"\x50\x12" + ma + body)
    return out


def acct_packets(users: int, secret: bytes, count: int) -> list[bytes]:
    out = []
    for i in range(min(count, 50000)):
        n = i % users
        ident = i % 256
        body = (p.attr(p.USER_NAME, f"user{n}".encode()) + p.attr_int(p.ACCT_STATUS_TYPE, p.ACCT_INTERIM)
                + p.attr(p.ACCT_SESSION_ID, f"sess{n}".encode()) + p.attr_ip(p.NAS_IP_ADDRESS, "127.0.0.1")
                + p.attr_int(p.ACCT_SESSION_TIME, 60 + i) + p.attr_int(p.ACCT_INPUT_OCTETS, 1000 + i)
                + p.attr_int(p.ACCT_OUTPUT_OCTETS, 5000 + i) + p.attr_int(p.ACCT_INPUT_GIGAWORDS, 0)
                + p.attr_int(p.ACCT_OUTPUT_GIGAWORDS, 0) + p.attr_ip(p.FRAMED_IP_ADDRESS, "10.0.0.1"))
        header = struct.pack("!BBH", 4, ident, 20 + len(body))
        import hashlib

        auth = hashlib.md5(header + bytes(16) + body + secret).digest()
        out.append(header + auth + body)
    return out


def run(mode: str, port: int, packets: list[bytes], count: int, arg: float, timeout: float = 2.0) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    n_packets = len(packets)
    sent_at = {}  # ident -> (seq, time)
    latencies = []
    sent = received = 0
    start = time.perf_counter()
    send = sock.send
    recv = sock.recv
    now = time.perf_counter
    if mode == "closed":
        inflight = int(arg)
        while received < count:
            while sent < count and sent - received < inflight and len(sent_at) < 256:
                data = packets[sent % n_packets]
                sent_at[data[1]] = now()
                send(data)
                sent += 1
            ready, _, _ = select.select([sock], [], [], timeout)
            if not ready:
                break  # the rest is lost
            while True:
                try:
                    reply = recv(4096)
                except BlockingIOError:
                    break
                t = sent_at.pop(reply[1], None)
                if t is not None:
                    latencies.append(now() - t)
                    received += 1
    else:
        rate = float(arg)
        interval = 1.0 / rate
        next_send = now()
        while sent < count or (sent_at and now() - next_send < timeout):
            t = now()
            while sent < count and t >= next_send:
                data = packets[sent % n_packets]
                sent_at[data[1]] = t
                send(data)
                sent += 1
                next_send += interval
            wait = max(0.0, min(next_send - now(), 0.01)) if sent < count else 0.05
            ready, _, _ = select.select([sock], [], [], wait)
            if ready:
                while True:
                    try:
                        reply = recv(4096)
                    except BlockingIOError:
                        break
                    sent_t = sent_at.pop(reply[1], None)
                    if sent_t is not None:
                        latencies.append(now() - sent_t)
                        received += 1
            if sent >= count and not sent_at:
                break
    seconds = now() - start
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else None

    return {"sent": sent, "received": received, "lost": sent - received, "seconds": round(seconds, 3),
            "rate": round(received / seconds, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def main():
    mode, port, secret, users, count, arg = sys.argv[1:7]
    kind = sys.argv[7] if len(sys.argv) > 7 else "auth"
    build = access_packets if kind == "auth" else acct_packets
    packets = build(int(users), secret.encode(), int(count))
    print(json.dumps(run(mode, int(port), packets, int(count), float(arg))), flush=True)


if __name__ == "__main__":
    main()
