"""`make run`'s supervisor for real: `flask --app app start` on a temporary
instance and a free port serves /login, and Ctrl-C stops every child."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc (Linux)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def is_running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_http(url: str, deadline: float, proc: subprocess.Popen) -> int:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"supervisor exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in time")


def log_in(base: str, login: str, password: str) -> str:
    """Log in through the real form (CSRF token and cookie included);
    returns the URL the login led to."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(base + "/login", timeout=10) as response:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.read().decode()).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "login": login, "password": password}).encode()
    with opener.open(base + "/login", data=body, timeout=10) as response:
        return response.geturl()


@pytest.fixture
def instance(tmp_path, database_template):
    """A fresh instance folder holding an initialised SQLite database (the
    migrated template), so the test skips `init`'s migrations."""
    folder = tmp_path / "instance"
    folder.mkdir()
    if not str(database_template).startswith("postgres"):
        shutil.copy(database_template, folder / "lanbill.db")
    return folder


def test_start_serves_login_and_ctrl_c_stops_every_child(instance):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HUEY_URL")}
    env.update(LANBILL_INSTANCE=str(instance), LANBILL_HTTP_HOST="127.0.0.1", LANBILL_HTTP_PORT=str(port),
               LANBILL_WEB_WORKERS="2")
    if (instance / "lanbill.db").exists():
        # The migrated template: admin as a system from before one-time
        # passwords left it (no password), which `init` then mends.
        with sqlite3.connect(instance / "lanbill.db") as db:
            db.execute("UPDATE manager SET password_hash = '', one_time_password_hash = '' WHERE login = 'admin'")
    init = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "init"], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=120)
    password = re.search(r"Log in as admin with the one-time password (\S+) ", init.stdout).group(1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "start"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        status = wait_http(f"http://127.0.0.1:{port}/login", deadline, proc)
        assert status == 200
        assert log_in(f"http://127.0.0.1:{port}", "admin", password).endswith("/password")
        # the worker and the agents are up too (they log when they are)
        while time.monotonic() < deadline and not (
            any("Huey consumer started" in line for line in lines) and any("agents:" in line for line in lines)
        ):
            time.sleep(0.1)
        children = descendants(proc.pid)
        # web master + 2 web workers + agents + worker
        assert len(children) >= 5, children
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        proc.wait(timeout=45)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert "Huey consumer started" in output
    assert f"Log in as admin with the one-time password {password} " in output
    assert "no password" not in output
    assert f"http://127.0.0.1:{port}/admin/" in output
    assert "LANBill stopped." in output
    assert "restarting" not in output, output  # no child (worker, agents) crashed on start
    assert "agents: 0 running" in output  # the agents process came up (no agents in a fresh system)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(is_running(pid) for pid in children):
        time.sleep(0.1)
    assert [pid for pid in children if is_running(pid)] == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_start_refuses_a_port_already_in_use(instance):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HUEY_URL")}
        env.update(LANBILL_INSTANCE=str(instance), LANBILL_HTTP_HOST="127.0.0.1", LANBILL_HTTP_PORT=str(port))
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "start"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stdout
