"""Shared helpers for the benchmarks in tests/perf (run by `make bench`,
i.e. `pytest tests/perf --run-perf`; never part of `make test`).

What is here, for any benchmark to reuse:

- `free_port()` — a TCP port the OS says is free on 127.0.0.1.
- `demo_instance(subscribers, seed=1)` — an instance folder with an
  initialised SQLite database holding `flask demo` data, generated ONCE into
  a cache folder and reused by later runs (the cache key includes the demo
  and migration sources, so a changed generator or schema regenerates it).
  Cache folder: $LANBILL_PERF_CACHE, default /tmp/lanbill-perf-cache.
  Returns (path, seconds the generation took or None if it came from cache).
- `generate_demo(folder, subscribers, seed=1)` — the same without the
  cache, into a new folder; returns the seconds `flask demo` took.
- `copy_instance(source, target)` — a private copy of an instance folder
  (SQLite database with its WAL, keys) for a benchmark that writes.
- `flask_cli(instance, *args)` — run `flask --app app …` against an
  instance in a subprocess (SQLite: DATABASE_URL/HUEY_URL are dropped).
- `api_token(instance)` — a fresh API token of manager `admin`.
- `Gunicorn(instance, workers=2, threads=4)` — a context manager running
  the real web process (deploy/gunicorn.conf.py) on a free port; `.url`.
  On exit it stops it with SIGTERM and makes sure no worker is left.
  `.cpu_seconds()` is the CPU the server's processes used so far.
- `process_tree_cpu(pid)` — user + system CPU seconds of a process tree.
- `HttpClient(url)` — a keep-alive HTTP/1.1 client (one per thread) with
  `request(method, path, body=None, headers=None) → (status, bytes)`.
- `run_clients(count, work, duration=None, requests=None)` — run `work(i,
  client_index)` from `count` threads until `duration` seconds or
  `requests` calls in total; returns a LoadResult with latencies (s),
  errors, elapsed, `rate` and `percentile(p)`.
- `report(title, **figures)` — print figures in one recognisable block
  (run with -s to see them; `make bench` does).
- fixture `demo_100k` — the 100,000-subscriber demo instance (cached).

The machine has 2 cores and is shared: figures are for that box.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LANBILL_PERF_CACHE", "/tmp/lanbill-perf-cache"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sqlite_env(instance: Path, **extra) -> dict:
    """The environment of a child process using `instance` on SQLite."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HUEY_URL")}
    env["LANBILL_INSTANCE"] = str(instance)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def flask_cli(instance: Path, *args: str, timeout: float = 900) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=sqlite_env(instance),
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([ROOT / "lanbill" / "demo.py", *(ROOT / "lanbill" / "migrations").glob("*.py"),
                        *(ROOT / "lanbill" / "models").glob("*.py")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def demo_instance(subscribers: int, seed: int = 1) -> tuple[Path, float | None]:
    """The cached demo instance for (subscribers, seed), generated if missing."""
    folder = CACHE / f"demo-{subscribers}-s{seed}-{_sources_digest()}"
    done = folder / "ready.json"
    if done.exists():
        return folder, None
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    seconds = generate_demo(building, subscribers, seed)
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder, seconds


def generate_demo(folder: Path, subscribers: int, seed: int = 1) -> float:
    """`flask init` + `flask demo` into a new instance folder; returns the
    seconds `flask demo` took (the process, start-up included) and leaves
    ready.json with them and the command's output."""
    folder.mkdir(parents=True)
    flask_cli(folder, "init")
    started, cpu = time.perf_counter(), _children_cpu()
    output = flask_cli(folder, "demo", "--subscribers", str(subscribers), "--seed", str(seed), timeout=1800)
    seconds = time.perf_counter() - started
    (folder / "ready.json").write_text(json.dumps({
        "seconds": seconds, "cpu_seconds": _children_cpu() - cpu, "output": output,
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
    }))
    return seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def copy_instance(source: Path, target: Path) -> Path:
    """Copy an instance folder (databases, keys) to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file():
            shutil.copy2(item, target / item.name)
    return target


def api_token(instance: Path) -> str:
    return flask_cli(instance, "token", "create", "--manager", "admin", "--name", "bench").strip()


class Gunicorn:
    """The real web process on a free port: `with Gunicorn(instance) as web: web.url`."""

    def __init__(self, instance: Path, workers: int = 2, threads: int = 4, **env):
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                        "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads", str(threads),
                        "app:app"]
        self.env = sqlite_env(instance, **env)
        self.process = None

    def __enter__(self) -> Gunicorn:
        self.log = open(self.instance / "gunicorn.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + (self.instance / "gunicorn.log").read_text())
            try:
                status, _ = HttpClient(self.url).request("GET", "/login")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
        except ProcessLookupError:
            pass
        self.log.close()

    def cpu_seconds(self) -> float:
        """CPU the master and its workers have used so far."""
        return process_tree_cpu(self.process.pid)


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants
    (Linux /proc): what a server really spent, whatever else runs on the box."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


class HttpClient:
    """Keep-alive HTTP/1.1 over one connection; reconnects when the server
    closes it.  Not thread-safe: one per thread."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.connection = None

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        all_headers = {"Content-Type": "application/json"} if isinstance(body, (dict, list)) else {}
        all_headers.update(headers or {})
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.connection.request(method, path, body=payload, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class LoadResult:
    latencies: list = field(default_factory=list)
    statuses: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1)]


def run_clients(count: int, work, *, duration: float | None = None, requests: int | None = None) -> LoadResult:
    """Call `work(n, client)` from `count` threads, `client` an index in
    0..count-1 and `n` a global sequence number; `work` returns an HTTP
    status.  Stops after `duration` seconds or `requests` calls in all."""
    assert duration or requests
    result = LoadResult()
    lock = threading.Lock()
    sequence = iter(range(10**12))
    stop_at = time.perf_counter() + duration if duration else None

    def loop(client: int) -> None:
        latencies, statuses = [], {}
        while True:
            with lock:
                n = next(sequence)
            if (requests is not None and n >= requests) or (stop_at and time.perf_counter() >= stop_at):
                break
            started = time.perf_counter()
            try:
                status = work(n, client)
            except Exception as exc:  # noqa: BLE001 — counted and shown, the load goes on
                with lock:
                    result.errors.append(repr(exc))
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        with lock:
            result.latencies.extend(latencies)
            for status, n in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + n

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result


def report(title: str, **figures) -> None:
    lines = [f"\n== {title}"] + [f"   {k.replace('_', ' ')}: {v}" for k, v in figures.items()]
    print("\n".join(lines), flush=True)


@pytest.fixture(scope="session")
def demo_100k():
    """(instance folder, generation seconds or None when cached) of the
    100,000-subscriber demo on SQLite."""
    return demo_instance(100_000)
