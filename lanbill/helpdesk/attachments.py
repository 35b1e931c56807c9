"""Files attached to helpdesk messages: what may be attached (size, count,
type checked by content), where it is stored, and reading it back.

Rules (DESIGN §10: «size- and type-limited, stored under instance/uploads/
with generated names»):
- at most MAX_SIZE (5 MB) each, at most MAX_FILES per message, not empty;
- only the types in ALLOWED: pictures (PNG, JPEG, GIF, WebP), PDF, plain
  text and office documents (DOC, DOCX, XLS, XLSX, ODT).  The extension
  names the type and the first bytes must match it (a renamed program is
  refused); a text file must be UTF-8 or Windows-1251 text without NUL
  bytes;
- stored as `helpdesk/<32 random hex>.<ext>` under the upload folder the
  caller passes (the app's instance/uploads): the sender's file name is
  kept only as a label and never touches the file system.
"""

from __future__ import annotations

import os
import secrets
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from lanbill.errors import N_, ValidationError

MAX_SIZE = 5 * 1024 * 1024
MAX_FILES = 5
SUBFOLDER = "helpdesk"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of DOC and XLS
ZIP = b"PK\x03\x04"

# extension → content type
ALLOWED = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "txt": "text/plain; charset=utf-8",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
}
# Types a browser may show in place (pictures); the rest are downloaded.
INLINE = {"png", "jpg", "jpeg", "gif", "webp"}
ALLOWED_TEXT = "PNG, JPEG, GIF, WebP, PDF, TXT, DOC, DOCX, XLS, XLSX, ODT"

WRONG_TYPE = N_("The file %(name)s is of a type that cannot be attached. Allowed: %(allowed)s.")
TOO_LARGE = N_("The file %(name)s is larger than 5 MB.")
EMPTY = N_("The file %(name)s is empty.")
TOO_MANY = N_("At most 5 files can be attached to one message.")


@dataclass(frozen=True)
class Upload:
    """A file as the sender gave it: its name and its bytes (the view reads
    at most MAX_SIZE + 1 of them, so an oversized file is seen as such)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    extension: str
    content_type: str
    data: bytes


def clean_filename(name: str) -> str:
    """The sender's file name as a label: its last path part, without
    control characters, at most 200 characters (the extension kept)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip() or "file"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:200]
    return base


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _zip_names(data: bytes) -> set[str]:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return set()


def _zip_member(data: bytes, name: str) -> bytes:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return archive.read(name)[:100].strip()
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError):
        return b""


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    for encoding in ("utf-8", "cp1251"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def content_matches(extension: str, data: bytes) -> bool:
    """Whether the file's first bytes are those of the type its extension
    names (the signatures of each format; office files of 2007 on are ZIP
    archives holding their own part names)."""
    head = data[:16]
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension == "gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if extension == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if extension == "pdf":
        return b"%PDF-" in data[:1024]
    if extension in ("doc", "xls"):
        return head.startswith(OLE2)
    if extension == "docx":
        return head.startswith(ZIP) and "word/document.xml" in _zip_names(data)
    if extension == "xlsx":
        return head.startswith(ZIP) and "xl/workbook.xml" in _zip_names(data)
    if extension == "odt":
        return head.startswith(ZIP) and _zip_member(data, "mimetype") == b"application/vnd.oasis.opendocument.text"
    if extension == "txt":
        return _is_text(data)
    return False


def check_uploads(uploads) -> list[CheckedFile]:
    """The files of one message, each checked (see the module's rules);
    the first refusal names the file, nothing is stored."""
    uploads = [u for u in (uploads or []) if u is not None and (u.filename or u.data)]
    if len(uploads) > MAX_FILES:
        raise ValidationError(TOO_MANY, fields={"files": TOO_MANY})
    out = []
    for upload in uploads:
        name = clean_filename(upload.filename)
        extension = _extension(name)
        if len(upload.data) > MAX_SIZE:
            raise ValidationError(TOO_LARGE, fields={"files": TOO_LARGE}, name=name)
        if not upload.data:
            raise ValidationError(EMPTY, fields={"files": EMPTY}, name=name)
        if extension not in ALLOWED or not content_matches(extension, upload.data):
            raise ValidationError(WRONG_TYPE, fields={"files": WRONG_TYPE}, name=name, allowed=ALLOWED_TEXT)
        out.append(CheckedFile(name, extension, ALLOWED[extension], upload.data))
    return out


def store(upload_dir, checked: CheckedFile) -> str:
    """Write the file under `upload_dir` with a generated name; return the
    name relative to `upload_dir` (what Attachment.path keeps)."""
    folder = Path(upload_dir) / SUBFOLDER
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{SUBFOLDER}/{secrets.token_hex(16)}.{checked.extension}"
    target = Path(upload_dir) / relative
    with open(target, "xb") as handle:
        handle.write(checked.data)
    return relative


def discard(upload_dir, relatives) -> None:
    """Remove files stored for a change that was then refused or rolled back."""
    for relative in relatives:
        try:
            os.unlink(Path(upload_dir) / relative)
        except OSError:
            pass


def file_path(upload_dir, attachment) -> Path:
    """The stored file of an attachment; never outside `upload_dir`."""
    base = Path(upload_dir).resolve()
    target = (base / attachment.path).resolve()
    if base not in target.parents:
        raise ValidationError(N_("Not found."))
    return target


def is_inline(attachment) -> bool:
    return _extension(attachment.path) in INLINE


def read_uploads(items) -> list[Upload]:
    """Uploads from the file objects a request carries (anything with a
    `filename` and a `read(n)`): at most MAX_SIZE + 1 bytes of each is read,
    enough to refuse an oversized file without holding all of it.  Empty
    file inputs (no file chosen) are skipped."""
    out = []
    for item in items or []:
        name = getattr(item, "filename", "") or ""
        if not name:
            continue
        out.append(Upload(name, item.read(MAX_SIZE + 1)))
    return out
