"""Start every enabled agent as a thread and stop them on SIGTERM/Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading

from agents.radius import server as radius_server
from lanbill.models import Agent

log = logging.getLogger(__name__)


def run_agents(app, stop_event: threading.Event | None = None) -> None:
    """Run the agents of the app's database until `stop_event` or a signal.

    Each agent type's server module exposes `start_all(app, stop_event)`
    returning thread-like objects with `join()`.
    """
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = []
    with app.app_context():
        threads.extend(radius_server.start_all(app, stop))
        threads.extend(_start_netflow(app, stop))
    log.info("agents: %d running", len(threads))
    print(f"agents: {len(threads)} running", flush=True)
    while not stop.wait(0.5):
        pass
    log.info("agents: stopping")
    for thread in threads:
        thread.join(timeout=30)


def _start_netflow(app, stop: threading.Event) -> list:
    """The NetFlow listeners, if any NetFlow agent is enabled."""
    if not Agent.select().where((Agent.type == "netflow") & (Agent.enabled == True)).exists():  # noqa: E712
        return []
    # Imported here, only when a NetFlow agent is enabled: the collector
    # loads numpy, which a RADIUS-only installation need not load at all.
    try:
        from agents.netflow import server as netflow_server
    except ImportError:
        log.exception("NetFlow agents are enabled but the collector cannot be loaded")
        return []
    return netflow_server.start_all(app, stop)
