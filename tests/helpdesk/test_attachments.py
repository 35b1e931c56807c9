"""Attachment rules (lanbill.helpdesk.attachments): size, count, type by
extension AND content, generated names under the upload folder."""

from __future__ import annotations

import pytest

from lanbill.errors import ValidationError
from lanbill.helpdesk import attachments
from lanbill.helpdesk.attachments import MAX_SIZE, Upload
from tests.helpdesk import samples


@pytest.mark.parametrize("upload", [
    Upload("a.png", samples.png_bytes()),
    Upload("a.JPG", samples.jpeg_bytes()),
    Upload("a.gif", b"GIF89a" + b"\x00" * 20),
    Upload("a.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20),
    Upload("a.pdf", samples.pdf_bytes()),
    Upload("readme.txt", "Привет, мир".encode()),
    Upload("cp1251.txt", "Привет".encode("cp1251")),
    Upload("old.doc", attachments.OLE2 + b"\x00" * 100),
    Upload("old.xls", attachments.OLE2 + b"\x00" * 100),
    Upload("new.docx", samples.docx_bytes()),
    Upload("text.odt", samples.odt_bytes()),
])
def test_allowed_types_pass(upload):
    [checked] = attachments.check_uploads([upload])
    assert checked.content_type == attachments.ALLOWED[upload.filename.rsplit(".", 1)[1].lower()]


@pytest.mark.parametrize("upload", [
    samples.exe(),                                   # not an allowed type at all
    samples.renamed_program("photo.png"),            # a program renamed to .png
    Upload("fake.pdf", b"<html><script>alert(1)</script></html>"),
    Upload("fake.docx", samples.odt_bytes()),        # a zip, but not a Word document
    Upload("page.html", b"<html></html>"),
    Upload("image.svg", b"<svg onload='alert(1)'/>"),
    Upload("noext", samples.png_bytes()),
    Upload("binary.txt", b"abc\x00def"),
])
def test_wrong_types_are_refused_with_the_file_named(upload):
    with pytest.raises(ValidationError) as refused:
        attachments.check_uploads([upload])
    assert refused.value.message == attachments.WRONG_TYPE
    assert refused.value.params["name"] == upload.filename


def test_a_file_over_5_mb_is_refused_and_exactly_5_mb_passes():
    with pytest.raises(ValidationError) as refused:
        attachments.check_uploads([samples.oversized()])
    assert refused.value.message == attachments.TOO_LARGE
    exact = Upload("exact.pdf", b"%PDF-1.4\n" + b"0" * (MAX_SIZE - 9))
    assert len(exact.data) == MAX_SIZE
    assert attachments.check_uploads([exact])


def test_empty_files_and_too_many_files_are_refused():
    with pytest.raises(ValidationError) as refused:
        attachments.check_uploads([Upload("empty.txt", b"")])
    assert refused.value.message == attachments.EMPTY
    with pytest.raises(ValidationError) as refused:
        attachments.check_uploads([samples.png(f"{n}.png") for n in range(6)])
    assert refused.value.message == attachments.TOO_MANY


def test_the_senders_name_is_a_label_only(tmp_path):
    [checked] = attachments.check_uploads([Upload("..\\..\\etc/passwd.png", samples.png_bytes())])
    assert checked.filename == "passwd.png"
    relative = attachments.store(tmp_path, checked)
    assert relative.startswith("helpdesk/") and "passwd" not in relative
    assert (tmp_path / relative).read_bytes() == samples.png_bytes()
    second = attachments.store(tmp_path, checked)
    assert second != relative  # every file gets its own generated name


def test_a_path_outside_the_upload_folder_is_never_served(tmp_path):
    class Row:
        path = "../../etc/passwd"

    with pytest.raises(ValidationError):
        attachments.file_path(tmp_path, Row())
