"""ATOL Online, API v5 (FFD 1.2): the wire protocol of 54-FZ receipts —
the request bodies, the answers, and a small HTTP client (DOMAIN-RULES §4).

- `POST {api}/v5/getToken {login, pass}` → `{"token", "error", "timestamp"}`;
  the token lives 24 hours [INF] and is sent in the `Token` header.
- `POST {api}/v5/{group_code}/sell` (or `sell_refund`) with the receipt →
  `{"uuid", "status": "wait", "error"}`.
- `GET {api}/v5/{group_code}/report/{uuid}` → `status` done | fail | wait,
  `payload` with fn_number, fiscal_document_number,
  fiscal_document_attribute, fiscal_receipt_number, shift_number,
  receipt_datetime, ecr_registration_number, ofd_receipt_url, fns_site.
- FFD 1.2: every item has `measure` (0 = piece), `payment_object` is a
  number (4 service, 10 payment) [INF: from the FFD tag 1212 table; the
  v5 document itself was not read].
- An expired or wrong token is answered with HTTP 401, or an error whose
  code is 11–13 [INF]: the client then asks for a new token once.

Amounts travel as JSON numbers written from Decimal text, never through a
float.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal

PAYMENT_OBJECT = {"payment": 10, "service": 4}  # FFD 1.2 tag 1212
TOKEN_ERROR_CODES = {11, 12, 13}
TIMEOUT = 15  # seconds per request; a slower answer is retried later


class AtolError(Exception):
    """A refusal or a failure to talk to ATOL.  `temporary` errors are
    retried with back-off; others need a person (wrong settings, a
    receipt ATOL refuses)."""

    def __init__(self, text: str, *, temporary: bool = True, code=None, uuid: str = ""):
        super().__init__(text)
        self.text = text
        self.temporary = temporary
        self.code = code
        self.uuid = uuid


class TokenExpired(AtolError):
    pass


@dataclass
class Report:
    status: str  # done | fail | wait
    payload: dict = field(default_factory=dict)
    error: str = ""


_DECIMAL = re.compile(r'"\\u0000dec:([0-9.\-]+)"')


def dumps(body: dict) -> bytes:
    """JSON with Decimal amounts written as exact numbers."""
    def mark(value):
        if isinstance(value, Decimal):
            return "\u0000dec:" + format(value.quantize(Decimal("0.01")), "f")
        raise TypeError(f"not JSON: {type(value).__name__}")

    text = json.dumps(body, ensure_ascii=False, default=mark)
    return _DECIMAL.sub(lambda m: m.group(1), text).encode("utf-8")


def receipt_body(*, external_id: str, timestamp: str, client: dict, company: dict, item_name: str,
                 amount: Decimal, vat: str, settlement_mode: str, cash: bool, callback_url: str = "") -> dict:
    """The body of `sell` / `sell_refund` for one top-up of one agreement:
    one item, quantity 1, measure 0; "advance" + payment object "payment",
    or "full_prepayment" + "service" (the operator's switch)."""
    payment_object = PAYMENT_OBJECT["payment" if settlement_mode == "advance" else "service"]
    body = {
        "external_id": external_id,
        "timestamp": timestamp,
        "receipt": {
            "client": client,
            "company": company,
            "items": [{
                "name": item_name[:128],
                "price": amount,
                "quantity": 1,
                "measure": 0,
                "sum": amount,
                "payment_method": settlement_mode,
                "payment_object": payment_object,
                "vat": {"type": vat},
            }],
            "payments": [{"type": 0 if cash else 1, "sum": amount}],
            "total": amount,
        },
    }
    if callback_url:
        body["service"] = {"callback_url": callback_url}
    return body


def _error_of(answer: dict) -> tuple[str, object] | None:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not error:
        return None
    if isinstance(error, dict):
        return str(error.get("text") or error.get("type") or "error"), error.get("code")
    return str(error), None


def parse_report(answer: dict) -> Report:
    status = str(answer.get("status") or "")
    if status not in ("done", "fail", "wait"):
        raise AtolError(f"unexpected report status {status!r}")
    error = _error_of(answer)
    return Report(status=status, payload=dict(answer.get("payload") or {}), error=error[0] if error else "")


class Client:
    """One operator's ATOL account: `api_url` is the base before `/v5`
    (https://online.atol.ru/possystem; a local fake in tests)."""

    def __init__(self, api_url: str, login: str, password: str, group_code: str, token: str = ""):
        self.api_url = api_url.rstrip("/")
        self.login = login
        self.password = password
        self.group_code = group_code
        self.token = token
        self.new_token = False  # set when the token changed (the caller stores it)

    def _request(self, method: str, path: str, body: dict | None = None, token: bool = True) -> dict:
        data = dumps(body) if body is not None else None
        request = urllib.request.Request(self.api_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        if token:
            request.add_header("Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - the configured ATOL URL
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read() or b"{}"
            answer = _json(raw)
            error = _error_of(answer) or (f"HTTP {exc.code}", None)
            if exc.code == 401 or error[1] in TOKEN_ERROR_CODES:
                raise TokenExpired(error[0], code=error[1]) from None
            raise AtolError(error[0], temporary=exc.code >= 500 or exc.code == 429, code=error[1],
                            uuid=str(answer.get("uuid") or "")) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise AtolError(f"no answer: {type(exc).__name__}") from None
        return _json(raw)

    def get_token(self) -> str:
        answer = self._request("POST", "/v5/getToken", {"login": self.login, "pass": self.password}, token=False)
        error = _error_of(answer)
        if error or not answer.get("token"):
            raise AtolError(error[0] if error else "no token", temporary=False, code=error[1] if error else None)
        self.token = str(answer["token"])
        self.new_token = True
        return self.token

    def _with_token(self, method: str, path: str, body: dict | None = None) -> dict:
        if not self.token:
            self.get_token()
        try:
            return self._request(method, path, body)
        except TokenExpired:
            self.get_token()
            return self._request(method, path, body)

    def register(self, operation: str, body: dict) -> str:
        """Send a receipt; its uuid.  A receipt ATOL already has (the same
        external_id, after a lost answer) comes back with its uuid too."""
        answer = self._with_token("POST", f"/v5/{self.group_code}/{operation}", body)
        error = _error_of(answer)
        if answer.get("uuid"):
            return str(answer["uuid"])
        raise AtolError(error[0] if error else "no uuid", temporary=False, code=error[1] if error else None)

    def report(self, uuid: str) -> Report:
        return parse_report(self._with_token("GET", f"/v5/{self.group_code}/report/{uuid}"))


def _json(raw: bytes) -> dict:
    try:
        answer = json.loads(raw.decode("utf-8") or "{}", parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise AtolError("not a JSON answer") from None
    return answer if isinstance(answer, dict) else {}
