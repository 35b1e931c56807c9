"""What each rendering process keeps between documents (lanbill/documents/
render.py): the parsed stylesheet (the instance's own when it has one),
the lighter user-agent stylesheet, and a fetcher that serves the logo from
the instance folder and never goes to the network."""

from __future__ import annotations

import http.server
import io
import struct
import threading
import zlib
from pathlib import Path

import pypdf
import pytest
import time_machine

from lanbill.documents import render
from lanbill.documents.issue import issue_document, pdf_file
from tests.billing_helpers import local
from tests.documents.helpers import agreement_with, charge, pdf_text, set_requisites
from tests.factories import ACTOR


def _png(width: int = 8, height: int = 8) -> bytes:
    """A small red PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()


@pytest.fixture
def nov30():
    with time_machine.travel(local("2026-11-30 12:00"), tick=False):
        yield


def act_for(app, amount="650.00"):
    agreement = agreement_with()
    charge(agreement, amount)
    document, _ = issue_document(agreement, "act", actor=ACTOR, instance_path=app.instance_path,
                                 period="2026-11")
    return document


def images_on(path) -> int:
    page = pypdf.PdfReader(str(path)).pages[0]
    objects = page["/Resources"].get("/XObject") or {}
    return sum(1 for ref in objects.values() if ref.get_object().get("/Subtype") == "/Image")


def test_the_lighter_user_agent_stylesheet_is_in_use():
    # WeasyPrint's own is used (slower, same result) if its text changed
    # under an upgrade: this says so instead of losing the speed silently.
    assert render._UA_TEXT is not None
    assert "li::marker, summary::marker {" in render._UA_TEXT and "::footnote-call" not in render._UA_TEXT


def test_a_list_in_a_template_keeps_its_markers(app, tmp_path):
    pdf = render.html_to_pdf("<html><body><ul><li>Первый пункт</li><li>Второй пункт</li></ul></body></html>",
                             app.instance_path, stylesheet=True)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert text.count("•") == 2 and "Первый пункт" in text


def test_the_logo_comes_from_the_instance_folder_into_every_act(app, nov30):
    (Path(app.instance_path) / "logo.png").write_bytes(PNG)
    set_requisites(logo_path="logo.png")
    first, second = act_for(app), act_for(app, "700.00")
    assert images_on(pdf_file(first, app.instance_path)) == 1
    assert images_on(pdf_file(second, app.instance_path)) == 1
    assert "Акт оказанных услуг № АКТ-2026-2" in pdf_text(pdf_file(second, app.instance_path))


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


def test_a_template_cannot_make_the_renderer_fetch_from_the_network(app, nov30):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        folder = Path(app.instance_path) / "templates" / "documents"
        folder.mkdir(parents=True)
        (folder / "act.html").write_text(
            '{% extends "_base.html" %}{% block content %}'
            f'<link rel="stylesheet" href="{url}/style.css"><img src="{url}/tracker.png">'
            "<h1>Акт {{ doc.number }}</h1>{% endblock %}", encoding="utf-8")
        set_requisites()
        document = act_for(app)
        assert "Акт АКТ-2026-1" in pdf_text(pdf_file(document, app.instance_path))
        assert _Counting.hits == []
    finally:
        server.shutdown()
        server.server_close()


def test_the_instances_stylesheet_is_used_and_a_change_to_it_is_seen(app, nov30):
    set_requisites()
    folder = Path(app.instance_path) / "templates" / "documents"
    folder.mkdir(parents=True)
    css = (render.TEMPLATES / "documents.css").read_text(encoding="utf-8")
    (folder / "documents.css").write_text(css + "\nh1 { text-transform: uppercase; }\n", encoding="utf-8")
    first = act_for(app)
    assert "АКТ ОКАЗАННЫХ УСЛУГ № АКТ-2026-1" in pdf_text(pdf_file(first, app.instance_path))
    (folder / "documents.css").write_text(css, encoding="utf-8")
    second = act_for(app)
    assert "Акт оказанных услуг № АКТ-2026-2" in pdf_text(pdf_file(second, app.instance_path))
