"""A local fake ЮKassa (the edge of the world for the tests): the part of
its REST API LANBill uses — POST /v3/payments with Idempotence-Key and
HTTP basic shop id : secret key, GET /v3/payments/{id} — plus the
checkout page the subscriber is redirected to, which "pays" and sends
the notification to the shop, as ЮKassa would.

Knobs for a test: `saved_charge_status` (what charging a saved method
answers), `fail_with` (an HTTP status every API call answers), `tamper`
(fields the read-back returns changed), `notify_url` (where the checkout
sends its notification)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeYooKassa:
    def __init__(self, shop_id: str = "556677", secret: str = "test-secret-key"):
        self.shop_id, self.secret = shop_id, secret
        self.payments: dict[str, dict] = {}
        self.keys: dict[str, str] = {}
        self.requests: list[dict] = []
        self.saved_charge_status = "succeeded"
        self.fail_with: int | None = None
        self.tamper: dict = {}
        self.notify_url: str | None = None
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.api_url = self.url + "/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    # --- what a test does -------------------------------------------------------

    def pay(self, payment_id: str, *, notify: bool = True) -> dict:
        """The payer confirms: the payment succeeds (its card saved when
        asked) and the notification goes to the shop."""
        with self.lock:
            payment = self.payments[payment_id]
            payment["status"] = "succeeded"
            payment["paid"] = True
            method = payment["payment_method"]
            if payment.get("_save"):
                method["saved"] = True
        if notify and self.notify_url:
            self.send_notification(payment_id, "payment.succeeded")
        return payment

    def cancel(self, payment_id: str) -> None:
        with self.lock:
            self.payments[payment_id]["status"] = "canceled"
            self.payments[payment_id]["cancellation_details"] = {"party": "payment_network",
                                                                 "reason": "insufficient_funds"}

    def send_notification(self, payment_id: str, event: str, status_override: str | None = None) -> int:
        obj = self._public(self.payments[payment_id])
        if status_override:
            obj["status"] = status_override
        body = json.dumps({"type": "notification", "event": event, "object": obj}).encode()
        request = urllib.request.Request(self.notify_url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # --- the HTTP side --------------------------------------------------------------

    def _public(self, payment: dict) -> dict:
        return {k: v for k, v in payment.items() if not k.startswith("_")}

    def _reply(self, handler, status: int, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _authorised(self, handler) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.shop_id}:{self.secret}".encode()).decode()
        return handler.headers.get("Authorization") == expected

    def _handle(self, handler, method: str):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(handler.path).path
        self.requests.append({"method": method, "path": path, "headers": dict(handler.headers), "body": raw})
        if path.startswith("/checkout/"):
            return self._checkout(handler, method, path.rsplit("/", 1)[1], raw)
        if self.fail_with:
            return self._reply(handler, self.fail_with, {"type": "error", "code": "internal_server_error"})
        if not self._authorised(handler):
            return self._reply(handler, 401, {"type": "error", "code": "invalid_credentials"})
        if method == "POST" and path == "/v3/payments":
            return self._create(handler, json.loads(raw or b"{}"))
        if method == "GET" and path.startswith("/v3/payments/"):
            payment = self.payments.get(path.rsplit("/", 1)[1])
            if payment is None:
                return self._reply(handler, 404, {"type": "error", "code": "not_found"})
            return self._reply(handler, 200, {**self._public(payment), **self.tamper})
        return self._reply(handler, 404, {"type": "error", "code": "not_found"})

    def _create(self, handler, body: dict):
        key = handler.headers.get("Idempotence-Key")
        if not key:
            return self._reply(handler, 400, {"type": "error", "code": "invalid_request"})
        with self.lock:
            if key in self.keys:
                return self._reply(handler, 200, self._public(self.payments[self.keys[key]]))
            payment_id = str(uuid.uuid4())
            payment = {"id": payment_id, "status": "pending", "paid": False, "amount": body["amount"],
                       "description": body.get("description", ""), "metadata": body.get("metadata", {}),
                       "created_at": "2026-01-05T10:00:00.000Z", "test": True}
            saved_id = body.get("payment_method_id")
            if saved_id:
                payment["status"] = self.saved_charge_status
                payment["payment_method"] = {"type": "bank_card", "id": saved_id, "saved": True}
                if payment["status"] == "canceled":
                    payment["cancellation_details"] = {"party": "issuer", "reason": "insufficient_funds"}
            else:
                kind = (body.get("payment_method_data") or {}).get("type", "bank_card")
                payment["payment_method"] = {"type": kind, "id": f"pm-{uuid.uuid4()}", "saved": False}
                payment["confirmation"] = {"type": "redirect",
                                           "confirmation_url": f"{self.url}/checkout/{payment_id}"}
                payment["_return_url"] = body["confirmation"]["return_url"]
                payment["_save"] = bool(body.get("save_payment_method"))
            self.payments[payment_id] = payment
            self.keys[key] = payment_id
        return self._reply(handler, 200, self._public(payment))

    def _checkout(self, handler, method: str, payment_id: str, raw: bytes):
        payment = self.payments.get(payment_id)
        if payment is None:
            return self._reply(handler, 404, b"no such payment", "text/plain")
        if method == "GET":
            amount = payment["amount"]["value"]
            page = (f"<!doctype html><html><body><h1>Fake ЮKassa</h1><p id='amount'>{amount}</p>"
                    f"<p id='method'>{payment['payment_method']['type']}</p>"
                    f"<form method='post'><button id='confirm' name='do' value='pay'>Оплатить</button>"
                    f"<button id='decline' name='do' value='decline'>Отказаться</button></form></body></html>")
            return self._reply(handler, 200, page.encode(), "text/html; charset=utf-8")
        choice = urllib.parse.parse_qs(raw.decode()).get("do", ["pay"])[0]
        if choice == "pay":
            self.pay(payment_id)
        else:
            self.cancel(payment_id)
        return self._reply(handler, 303, b"", "text/plain", {"Location": payment["_return_url"]})
