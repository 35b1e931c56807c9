"""Local fake servers for notification tests: an SMTP server (aiosmtpd)
and an SMS provider's HTTP endpoint (http.server in a thread), both on
loopback ports the OS picks, and a helper that gives a subscriber
confirmed contacts the way the cabinet does (a code sent, read back from
the fake server, entered)."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import re
import socket
import threading
import urllib.parse

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """What the fake SMTP server received; `fail_next` answers that many
    messages with a temporary error (451), `refuse` a permanent one (550)."""

    def __init__(self):
        self.raw: list[bytes] = []  # parsed on reading: the server thread stays light
        self.fail_next = 0
        self.refuse = False
        self.connections = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse:
                return "550 5.1.1 Mailbox unavailable"
            if self.fail_next:
                self.fail_next -= 1
                return "451 4.3.0 Try again later"
            self.raw.append(envelope.content)
        return "250 OK"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(content, policy=email.policy.default) for content in raw]

    def clear(self) -> None:
        with self.lock:
            self.raw.clear()

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self):
        self.sink = SmtpSink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


class SmsHandler(http.server.BaseHTTPRequestHandler):
    def _answer(self, params):
        server = self.server
        with server.lock:
            if server.fail_next:
                server.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                self.wfile.write(b"busy")
                return
            server.received.append(params)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"status": server.answer}).encode())

    def do_GET(self):
        self._answer(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(raw)
        else:
            params = dict(urllib.parse.parse_qsl(raw))
        self._answer(params)

    def log_message(self, *args):
        pass


class SmsServer(http.server.ThreadingHTTPServer):
    """A fake SMS provider: answers {"status": answer} (default "OK"),
    503 for `fail_next` requests; `received` holds each request's params."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SmsHandler)
        self.received: list[dict] = []
        self.fail_next = 0
        self.answer = "OK"
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/send"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    def to(self, phone):
        return [p for p in self.received if p.get("to") == phone]


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def confirm_contacts(subscriber, settings, *, smtp=None, sms=None, email_address=None, phone=None):
    """Give `subscriber` confirmed contacts as the cabinet does: ask for a
    code, send the outbox to the fake servers, read the code back, enter it."""
    from lanbill.actor import Actor
    from lanbill.notify import contacts, outbox

    actor = Actor(f"subscriber:{subscriber.id}")
    if email_address:
        contacts.request_code(subscriber, "email", email_address, actor=actor)
    if phone:
        contacts.request_code(subscriber, "sms", phone, actor=actor)
    outbox.send_due(settings)
    if email_address:
        body = smtp.sink.to(email_address)[-1].get_body().get_content()
        contacts.confirm(subscriber, "email", code_in(body), actor=actor)
    if phone:
        normalized = contacts.normalize_address("sms", phone)
        contacts.confirm(subscriber, "sms", code_in(sms.to(normalized)[-1]["text"]), actor=actor)


SERVER_SCRIPT = """
import signal, sys, threading
from aiosmtpd.controller import Controller

class Count:
    def __init__(self, path):
        self.file = open(path, "ab", buffering=0)

    async def handle_DATA(self, server, session, envelope):
        self.file.write(b".")
        return "250 OK"

controller = Controller(Count(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
stop.wait()
controller.stop()
"""


class SmtpProcess:
    """An SMTP server in a process of its own (for the benchmark): counts
    the messages it accepts into a file, one byte each."""

    def __init__(self, folder):
        self.port = free_port()
        self.counter = folder / "smtp-count"
        self.counter.write_bytes(b"")
        self.process = None

    def start(self):
        import subprocess
        import sys

        self.process = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(self.port), str(self.counter)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"
        return self

    @property
    def received(self) -> int:
        return self.counter.stat().st_size

    def cpu_seconds(self) -> float:
        """User + system CPU the server process used so far."""
        import os

        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
