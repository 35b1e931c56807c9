"""Shared helpers for the RADIUS tests: start the agent on loopback ports
chosen by the OS, talk to it with pyrad's client, wait for async effects."""

from __future__ import annotations

import os
import socket
import threading
import time

from pyrad import packet
from pyrad.client import Client
from pyrad.dictionary import Dictionary

from agents.radius import protocol as p

SECRET = "testing123"
DICTIONARY = Dictionary(p.dictionary_path())


class Harness:
    def __init__(self, app, agent, nas, service):
        self.app = app
        self.agent = agent
        self.nas = nas
        self.service = service
        self.worker = service.worker
        self.cache = service.worker.cache
        self.auth_port, self.acct_port = service.worker.ports(agent.id)

    def client(self, secret: str = SECRET, timeout: float = 2.0, retries: int = 1) -> Client:
        client = Client(server="127.0.0.1", authport=self.auth_port, acctport=self.acct_port,
                        secret=secret.encode(), dict=DICTIONARY)
        client.timeout = timeout
        client.retries = retries
        return client

    def access_request(self, login, password=None, *, secret=SECRET, with_ma=True, **attributes):
        client = self.client(secret)
        req = client.CreateAuthPacket(code=packet.AccessRequest, User_Name=login, message_authenticator=with_ma)
        if password is not None:
            req["User-Password"] = req.PwCrypt(password)
        for key, value in attributes.items():
            req[key.replace("_", "-")] = value
        if with_ma:
            req.add_message_authenticator()
        return client, req

    def send(self, client, req):
        return client.SendPacket(req)

    def auth(self, login, password, **kw):
        client, req = self.access_request(login, password, **kw)
        return client.SendPacket(req)

    def refresh(self):
        self.cache.refresh()

    def drops(self, reason: str) -> int:
        return self.worker.counters.values.get("drop:" + reason, 0)

    def raw(self, data: bytes, port: int | None = None, timeout: float = 0.3, source: str = "127.0.0.1"):
        """Send raw bytes; the reply bytes or None."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((source, 0))
        sock.settimeout(timeout)
        try:
            sock.sendto(data, ("127.0.0.1", port or self.auth_port))
            try:
                return sock.recvfrom(4096)[0]
            except TimeoutError:
                return None
        finally:
            sock.close()

    def accounting(self, login, session_id, status, *, secret=SECRET, **attributes):
        client = self.client(secret)
        req = client.CreateAcctPacket(User_Name=login)
        req["Acct-Status-Type"] = status
        req["Acct-Session-Id"] = session_id
        for key, value in attributes.items():
            req[key.replace("_", "-")] = value
        return client.SendPacket(req)


def wait_for(condition, timeout: float = 5.0):
    """Wait for an effect of another thread (not for time to pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def start(app, *, options=None, nas_over=None, coa_timeout=0.5):
    from agents.radius.server import start_service
    from tests.factories import make_agent, make_nas

    agent = make_agent(options=dict({"interim_interval": 60}, **(options or {})))
    nas_data = {"ip": "127.0.0.1", "secret": SECRET, "vendor": "mikrotik", "agent_id": agent.id}
    nas_data.update(nas_over or {})
    nas = make_nas(**nas_data)
    stop = threading.Event()
    config = dict(app.config, RADIUS_AUTH_PORT=0, RADIUS_ACCT_PORT=0, RADIUS_COA_TIMEOUT=coa_timeout)
    service = start_service(config, [agent.id], stop)
    return Harness(app, agent, nas, service), stop


def free_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
