"""The all-in-one supervisor of `make run` (DESIGN §1, the embedded default):
web (gunicorn), agents and worker as child processes under one parent.

Rules it keeps:
- the children run in their own process group, so a terminal's Ctrl-C
  reaches only the supervisor, which then stops them in order (SIGTERM,
  then SIGKILL after a grace period) — no half-stopped leftovers;
- each child also gets SIGTERM from the kernel if the supervisor itself
  dies without cleaning up (Linux PR_SET_PDEATHSIG), so no orphan gunicorn;
- a child that exits on its own is restarted, at most once per 5 seconds;
- the URL is printed once the web port accepts connections.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

from lanbill.config import ROOT
from lanbill.db import connection
from lanbill.first_run import first_password_to_show

RESTART_DELAY = 5.0
STOP_GRACE = 20.0


def commands(config) -> dict[str, list[str]]:
    """The three processes (DESIGN §1) for this interpreter's environment."""
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    bind = f"{config['HTTP_HOST']}:{config['HTTP_PORT']}"
    return {
        "web": [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind", bind, "app:app"],
        "agents": flask + ["agents"],
        "worker": flask + ["worker"],
    }


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the children are still stopped by the supervisor's own shutdown


def _port_open(host: str, port: int) -> bool:
    host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Supervisor:
    """Start, watch and stop the child processes."""

    def __init__(self, config, out=None):
        self.config = config
        self.commands = commands(config)
        self.out = out or sys.stdout
        self.env = dict(os.environ, LANBILL_INSTANCE=config["INSTANCE_PATH"], PYTHONUNBUFFERED="1")
        self.children: dict[str, subprocess.Popen] = {}
        self.started: dict[str, float] = {}
        self.stopping = False

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def spawn(self, name: str) -> None:
        self.children[name] = subprocess.Popen(
            self.commands[name], cwd=str(ROOT), env=self.env, stdin=subprocess.DEVNULL,
            process_group=0, preexec_fn=_die_with_parent,
        )
        self.started[name] = time.monotonic()

    def request_stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> int:
        host, port = self.config["HTTP_HOST"], int(self.config["HTTP_PORT"])
        if _port_open(host, port):
            self.say(f"supervisor: {host}:{port} is already in use (another LANBill?); "
                     "stop it or set LANBILL_HTTP_PORT")
            return 1
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_stop)
        try:
            for name in self.commands:
                self.spawn(name)
            self._announce()
            self._watch()
        finally:
            self.stop_all()
        return 0

    def _announce(self) -> None:
        host, port = self.config["HTTP_HOST"], int(self.config["HTTP_PORT"])
        deadline = time.monotonic() + 60
        while not self.stopping and time.monotonic() < deadline and not _port_open(host, port):
            if self.children["web"].poll() is not None:
                break
            time.sleep(0.1)
        if self.stopping:
            return
        if self.children["web"].poll() is not None or not _port_open(host, port):
            self.say(f"supervisor: the web process does not answer on {host}:{port}; see its messages above "
                     "(is the port taken? set LANBILL_HTTP_PORT)")
            return
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.say(
            f"\nLANBill is running: http://{shown}:{port}/admin/\n"
            f"{login_hint(self.config['INSTANCE_PATH'])}\n"
            "Ctrl-C stops everything.\n"
        )

    def _watch(self) -> None:
        while not self.stopping:
            time.sleep(0.2)
            for name, child in list(self.children.items()):
                if self.stopping or child.poll() is None:
                    continue
                wait_until = self.started[name] + RESTART_DELAY
                if time.monotonic() < wait_until:
                    continue  # restarted too recently: try again on a later tick
                self.say(f"supervisor: {name} exited with code {child.returncode}; restarting")
                self.spawn(name)

    def stop_all(self) -> None:
        """SIGTERM every child, wait up to STOP_GRACE seconds, then SIGKILL
        whatever is left of its process group."""
        for child in self.children.values():
            if child.poll() is None:
                _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"supervisor: {name} did not stop in time; killing it")
                _signal_group(child, signal.SIGKILL)
                child.wait()
            # Stragglers of the group (gunicorn workers) go too.
            _signal_group(child, signal.SIGKILL, quiet=True)
        self.say("LANBill stopped.")


def _signal_group(child: subprocess.Popen, sig: int, quiet: bool = False) -> None:
    try:
        os.killpg(child.pid, sig)
    except (ProcessLookupError, PermissionError):
        if not quiet:
            try:
                child.send_signal(sig)
            except ProcessLookupError:
                pass  # the child has already exited


def login_hint(instance: str) -> str:
    """The banner's line on how to log in: `admin`'s one-time password from
    `flask init` while it is still unused."""
    with connection():
        password = first_password_to_show(instance)
    if password:
        return f"Log in as admin with the one-time password {password} (the first thing asked is a new one)."
    return ("Log in with your manager's login and password "
            "(`flask --app app manager password admin` gives admin a new one-time password).")


def run_all(config) -> int:
    """Start web + agents + worker and supervise them until a signal."""
    return Supervisor(config).run()
