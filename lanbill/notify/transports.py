"""The transports: e-mail over SMTP and SMS over a provider's HTTP API.

Each sends one message and raises `SendError` (temporary: retried later;
permanent: failed at once) with a text that never carries the address.
An SMTP transport keeps one connection for a whole batch."""

from __future__ import annotations

import json
import mimetypes
import re
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path

from lanbill.notify.settings import NotifySettings


class SendError(Exception):
    def __init__(self, text: str, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


def mask(text: str, address: str) -> str:
    """An error text without the address (DESIGN §9: no personal data in
    logs): the address, and anything that looks like an e-mail or a phone
    number, replaced."""
    text = str(text or "")
    if address:
        text = text.replace(address, "<address>")
    text = re.sub(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", "<address>", text)
    text = re.sub(r"\+?\d[\d\s()-]{8,}\d", "<phone>", text)
    return text[:500]


class SmtpTransport:
    """E-mail over SMTP (SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM,
    _STARTTLS): plain text, files attached.  Used as a context manager, it
    opens one connection for the batch and reconnects once if the server
    dropped it."""

    def __init__(self, settings: NotifySettings):
        self.settings = settings
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if not s.smtp_host:
            raise SendError("SMTP_HOST is not set")
        try:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            # smtplib writes each command apart and waits for its answer:
            # without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold
            # every small write ~40 ms — 25 messages a second at best
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if s.smtp_starttls:
                connection.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                connection.login(s.smtp_user, s.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"SMTP connection failed: {exc}") from None
        return connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.connection = None

    def build(self, address: str, subject: str, body: str, attachments) -> Message:
        """Plain text in UTF-8, files attached.  Built with the classic
        (compat32) classes: a tenth of the CPU of EmailMessage's header
        parsing, which dominated sending."""
        text = MIMEText(body, "plain", "utf-8")
        if attachments:
            message = MIMEMultipart("mixed")
            message.attach(text)
            for path in attachments:
                file = Path(path)
                try:
                    data = file.read_bytes()
                except OSError:
                    raise SendError(f"attachment missing: {file.name}", permanent=True) from None
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                part = MIMEApplication(data, _subtype=kind.split("/", 1)[1])
                part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", file.name))
                message.attach(part)
        else:
            message = text
        message["From"] = self.settings.smtp_from or (self.settings.smtp_user or "lanbill@localhost")
        message["To"] = address
        message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain="lanbill")
        return message

    def send(self, address: str, subject: str, body: str, attachments=()) -> None:
        message = self.build(address, subject, body, attachments)
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = self._connect()
            try:
                self.connection.send_message(message)
                return
            except smtplib.SMTPServerDisconnected as exc:
                self.connection = None
                if attempt == 2:
                    raise SendError(mask(f"SMTP server disconnected: {exc}", address)) from None
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                raise SendError(mask(f"recipient refused: {codes}", address),
                                permanent=all(c >= 500 for c in codes)) from None
            except smtplib.SMTPResponseException as exc:
                self.close()
                raise SendError(mask(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", address),
                                permanent=exc.smtp_code >= 500) from None
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                raise SendError(mask(f"SMTP error: {exc}", address)) from None


class SmsTransport:
    """SMS over HTTP, described by settings because providers differ:
    SMS_URL, SMS_METHOD (GET puts the parameters in the query string),
    SMS_PARAMS (a mapping whose values may hold {phone} and {text}),
    SMS_FORMAT ("form" or "json" body for POST), SMS_SUCCESS (a regular
    expression the answer must contain; empty: any 2xx answer is
    success).  An answer 4xx is permanent except 408 and 429."""

    def __init__(self, settings: NotifySettings):
        self.settings = settings

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def request(self, phone: str, text: str) -> urllib.request.Request:
        s = self.settings
        if not s.sms_url:
            raise SendError("SMS_URL is not set")
        values = {"phone": phone, "phone_digits": re.sub(r"\D", "", phone), "text": text}
        params = {key: str(value).format_map(values) for key, value in s.sms_params.items()}
        url = s.sms_url.format_map({k: urllib.parse.quote(v) for k, v in values.items()})
        if s.sms_method == "GET":
            separator = "&" if "?" in url else "?"
            return urllib.request.Request(url + (separator + urllib.parse.urlencode(params) if params else ""),
                                          method="GET")
        if s.sms_format == "json":
            data, kind = json.dumps(params, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        else:
            data, kind = urllib.parse.urlencode(params).encode(), "application/x-www-form-urlencoded"
        return urllib.request.Request(url, data=data, method=s.sms_method, headers={"Content-Type": kind})

    def send(self, address: str, subject: str, body: str, attachments=()) -> None:
        request = self.request(address, body)
        try:
            with urllib.request.urlopen(request, timeout=self.settings.sms_timeout) as answer:  # noqa: S310 - staff-set URL
                text = answer.read(65536).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise SendError(f"SMS gateway answered HTTP {exc.code}",
                            permanent=400 <= exc.code < 500 and exc.code not in (408, 429)) from None
        except (OSError, ValueError) as exc:
            raise SendError(mask(f"SMS gateway unreachable: {exc}", address)) from None
        if self.settings.sms_success and not re.search(self.settings.sms_success, text):
            raise SendError(mask(f"SMS gateway refused: {text[:200]}", address))
