"""The all-in-one supervisor of `make run`: web (gunicorn), agents and the
worker as child processes; Ctrl-C or SIGTERM stops all of them cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from lanbill.config import ROOT


def _commands(config) -> dict[str, list[str]]:
    bin_dir = os.path.dirname(sys.executable)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    bind = f"{config['HTTP_HOST']}:{config['HTTP_PORT']}"
    return {
        "web": [os.path.join(bin_dir, "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind", bind, "app:app"],
        "agents": flask + ["agents"],
        "worker": flask + ["worker"],
    }


def run_all(config) -> None:
    """Start the three processes, restart one that dies (at most once per
    5 s), and stop all on a signal."""
    commands = _commands(config)
    env = dict(os.environ, LANBILL_INSTANCE=config["INSTANCE_PATH"])
    children: dict[str, subprocess.Popen] = {}
    started: dict[str, float] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def spawn(name):
        children[name] = subprocess.Popen(commands[name], cwd=str(ROOT), env=env)
        started[name] = time.monotonic()

    for name in commands:
        spawn(name)
    url = f"http://{config['HTTP_HOST']}:{config['HTTP_PORT']}/admin/"
    print(f"\nLANBill is running: {url}\nLog in as admin, no password (you will be asked to set one).\n"
          "Ctrl-C stops everything.\n", flush=True)
    while not stopping:
        time.sleep(0.5)
        for name, child in list(children.items()):
            if child.poll() is not None and not stopping:
                if time.monotonic() - started[name] < 5:
                    time.sleep(5)
                print(f"supervisor: {name} exited with {child.returncode}; restarting", flush=True)
                spawn(name)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("LANBill stopped.", flush=True)
