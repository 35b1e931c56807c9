"""A local fake ATOL Online v5 server for the receipt tests: the real HTTP
wire (getToken, sell, sell_refund, report/{uuid}) on a loopback port the
OS chooses, with switches for the failures the outbox must survive."""

from __future__ import annotations

import json
import threading
import uuid as uuidlib
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeAtol:
    def __init__(self, login="atol-login", password="atol-secret", group="group-1"):
        self.login, self.password, self.group = login, password, group
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.fail_next = 0  # answer the next N sells with HTTP 500
        self.refuse_next = 0  # answer the next N sells with a validation error (HTTP 400)
        self.fail_reports: set[str] = set()  # uuids whose report says "fail"
        self.wait_polls = 0  # answer "wait" this many times before "done"
        self.requests: list[tuple[str, str, dict | None, dict]] = []  # (method, path, body, headers)
        self.documents: dict[str, dict] = {}  # uuid → {"operation", "body"}
        self.by_external: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stopped = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/possystem"

    def start(self) -> FakeAtol:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (again is harmless: a test may stop it early to
        play ATOL being unreachable)."""
        if self.stopped:
            return
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def sells(self, operation="sell") -> list[dict]:
        return [body for method, path, body, _ in self.requests if path.endswith("/" + operation) and body]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                return json.loads(raw, parse_float=Decimal) if raw else None

            def _authorised(self) -> bool:
                if self.headers.get("Token") in fake.tokens:
                    return True
                self._answer(401, {"error": {"code": 11, "text": "Срок действия токена истек", "type": "system"},
                                   "timestamp": "07.12.2026 00:00:00"})
                return False

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self._body()
                with fake.lock:
                    fake.requests.append(("POST", self.path, body, dict(self.headers)))
                    if self.path == "/possystem/v5/getToken":
                        fake.token_requests += 1
                        if body != {"login": fake.login, "pass": fake.password}:
                            refusal = {"code": 12, "text": "Неверный логин или пароль"}
                            return self._answer(200, {"token": None, "error": refusal})
                        token = f"tok-{fake.token_requests}"
                        fake.tokens.add(token)
                        return self._answer(200, {"token": token, "error": None, "timestamp": "07.12.2026 00:00:00"})
                    operation = self.path.rsplit("/", 1)[-1]
                    if self.path.rsplit("/", 1)[0] != f"/possystem/v5/{fake.group}" or operation not in (
                            "sell", "sell_refund"):
                        return self._answer(404, {"error": {"code": 404, "text": "not found"}})
                    if not self._authorised():
                        return None
                    if fake.fail_next:
                        fake.fail_next -= 1
                        return self._answer(500, {"error": {"code": 500, "text": "Internal error", "type": "system"}})
                    if fake.refuse_next:
                        fake.refuse_next -= 1
                        return self._answer(400, {"error": {"code": 32, "text": "Ошибка валидации входного чека",
                                                            "type": "system"}})
                    external_id = body["external_id"]
                    if external_id in fake.by_external:
                        uuid = fake.by_external[external_id]
                        return self._answer(409, {"uuid": uuid, "error": {"code": 33, "text": "Документ уже есть"}})
                    uuid = str(uuidlib.uuid4())
                    fake.by_external[external_id] = uuid
                    fake.documents[uuid] = {"operation": operation, "body": body, "polls": 0}
                    return self._answer(200, {"uuid": uuid, "status": "wait", "error": None,
                                              "timestamp": "07.12.2026 00:00:01"})

            def do_GET(self):  # noqa: N802
                with fake.lock:
                    fake.requests.append(("GET", self.path, None, dict(self.headers)))
                    prefix = f"/possystem/v5/{fake.group}/report/"
                    if not self.path.startswith(prefix):
                        return self._answer(404, {"error": {"code": 404, "text": "not found"}})
                    if not self._authorised():
                        return None
                    uuid = self.path[len(prefix):]
                    document = fake.documents.get(uuid)
                    if document is None:
                        return self._answer(404, {"error": {"code": 34, "text": "Документ не найден"}})
                    document["polls"] += 1
                    if uuid in fake.fail_reports:
                        return self._answer(200, {"uuid": uuid, "status": "fail", "payload": None,
                                                  "error": {"code": 10, "text": "Неверная ставка НДС"}})
                    if document["polls"] <= fake.wait_polls:
                        return self._answer(200, {"uuid": uuid, "status": "wait", "payload": None, "error": None})
                    number = list(fake.documents).index(uuid) + 1
                    receipt = document["body"]["receipt"]
                    return self._answer(200, {
                        "uuid": uuid, "status": "done", "error": None, "group_code": fake.group,
                        "external_id": document["body"]["external_id"],
                        "payload": {"total": str(receipt["total"]), "fns_site": "www.nalog.gov.ru",
                                    "fn_number": "9999078900012345", "shift_number": 23,
                                    "receipt_datetime": "07.12.2026 00:00:05", "fiscal_receipt_number": number,
                                    "fiscal_document_number": 1000 + number,
                                    "ecr_registration_number": "0000000001002292",
                                    "fiscal_document_attribute": 3849216000 + number,
                                    "ofd_inn": "7704211201",
                                    "ofd_receipt_url": f"https://ofd.example.ru/rec/{uuid}"}})

        return Handler
