"""Small real files of each kind the helpdesk accepts or refuses, made in
memory (a PNG drawn by Pillow, a DOCX and an ODT built as the office
programs pack them)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from lanbill.helpdesk.attachments import Upload


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 30, 200)).save(out, format="JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def odt_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def png(name="screen.png") -> Upload:
    return Upload(name, png_bytes())


def exe(name="setup.exe") -> Upload:
    return Upload(name, b"MZ\x90\x00" + b"\x00" * 200)


def renamed_program(name="photo.png") -> Upload:
    """A Windows program renamed to look like a picture."""
    return Upload(name, b"MZ\x90\x00" + b"\x00" * 200)


def oversized(name="big.pdf") -> Upload:
    from lanbill.helpdesk.attachments import MAX_SIZE

    return Upload(name, b"%PDF-1.4\n" + b"0" * MAX_SIZE)
