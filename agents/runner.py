"""Start every enabled agent as a thread and stop them on SIGTERM/Ctrl-C."""

from __future__ import annotations

import signal
import threading


def run_agents(app, stop_event: threading.Event | None = None) -> None:
    """Run the agents of the app's database until `stop_event` or a signal.

    Each agent type module exposes `start(app, agent, stop_event)` returning
    a thread-like object with `join()`; a type with no module yet is skipped
    with a message.
    """
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = []
    with app.app_context():
        for starter in _starters():
            threads.extend(starter(app, stop))
    print(f"agents: {len(threads)} running", flush=True)
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join(timeout=30)


def _starters():
    """The start functions of the agent types that exist."""
    starters = []
    try:
        from agents.radius.server import start_all as radius_start
        starters.append(radius_start)
    except ImportError:
        pass
    try:
        from agents.netflow.server import start_all as netflow_start
        starters.append(netflow_start)
    except ImportError:
        pass
    return starters
