"""RADIUS load generator (a separate process): precomputed packets, raw
UDP sockets, closed loop (N in flight) or open loop (fixed rate).

    python tests/perf/radius_loadgen.py MODE PORT SECRET USERS COUNT [INFLIGHT|RATE] [auth|acct]

Prints one JSON line: sent, received, lost, seconds, rate, p50_ms, p99_ms.
The packets are built here; the sending loop runs in udp_loadgen.c when a C
compiler is present (LOADGEN_PYTHON=1 forces the Python loop below).
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


def run(mode: str, port: int, packets: list[bytes], count: int, arg: float, timeout: float = 2.0,
        n_sockets: int = 16) -> dict:
    """Send `count` requests; a reply is matched by (socket, identifier), so
    16 source sockets give 4,096 distinct in-flight slots."""
    socks = []
    for _ in range(n_sockets):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        socks.append(sock)
    by_fd = {s.fileno(): (i, s) for i, s in enumerate(socks)}
    n_packets = len(packets)
    sent_at = {}  # (socket index, ident) -> time
    latencies = []
    sent = received = 0
    now = time.perf_counter
    start = now()

    def send_next():
        nonlocal sent
        data = packets[sent % n_packets]
        index = (sent // 256) % n_sockets
        sent_at[(index, data[1])] = now()
        socks[index].send(data)
        sent += 1

    def drain(ready):
        nonlocal received
        for sock in ready:
            index, _ = by_fd[sock.fileno()]
            while True:
                try:
                    reply = sock.recv(4096)
                except BlockingIOError:
                    break
                t = sent_at.pop((index, reply[1]), None)
                if t is not None:
                    latencies.append(now() - t)
                    received += 1

    if mode == "closed":
        inflight = int(arg)
        while received < count:
            while sent < count and len(sent_at) < inflight:
                send_next()
            ready, _, _ = select.select(socks, [], [], timeout)
            if not ready:
                break  # what is still in flight is lost
            drain(ready)
    else:
        interval = 1.0 / float(arg)
        next_send = now()
        last_reply = now()
        while True:
            t = now()
            while sent < count and t >= next_send:
                send_next()
                next_send += interval
            if sent >= count and (not sent_at or t - last_reply > timeout):
                break
            wait = max(0.0, min(next_send - now(), 0.01)) if sent < count else 0.05
            ready, _, _ = select.select(socks, [], [], wait)
            if ready:
                drain(ready)
                last_reply = now()
    seconds = now() - start
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else None

    return {"sent": sent, "received": received, "lost": sent - received, "seconds": round(seconds, 3),
            "rate": round(received / seconds, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def c_generator() -> str | None:
    """udp_loadgen.c compiled once (cached by its source's hash): the
    sending and timing loop in C, so the generator leaves the cores to the
    server.  None when there is no C compiler (the Python loop is used)."""
    import hashlib
    import shutil
    import subprocess
    import tempfile

    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udp_loadgen.c")
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    with open(source, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    binary = os.path.join(tempfile.gettempdir(), f"lanbill-udp-loadgen-{digest}")
    if not os.path.exists(binary):
        subprocess.run([compiler, "-O2", "-o", binary + ".tmp", source], check=True)
        os.replace(binary + ".tmp", binary)
    return binary


def run_c(binary: str, mode: str, port: int, packets: list[bytes], count: int, arg: float) -> dict:
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".packets") as handle:
        handle.write(b"".join(struct.pack("!H", len(data)) + data for data in packets))
        handle.flush()
        out = subprocess.run([binary, mode, str(port), handle.name, str(count), str(arg)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    mode, port, secret, users, count, arg = sys.argv[1:7]
    kind = sys.argv[7] if len(sys.argv) > 7 else "auth"
    build = access_packets if kind == "auth" else acct_packets
    packets = build(int(users), secret.encode(), int(count))
    binary = None if os.environ.get("LOADGEN_PYTHON") else c_generator()
    if binary:
        result = run_c(binary, mode, int(port), packets, int(count), float(arg))
    else:
        result = run(mode, int(port), packets, int(count), float(arg))
        result["generator"] = "python"
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
