"""Template variants staff choose from when issuing (seed 002 «Счет на
предоплату … по указанному шаблону»): a name, the kind it serves and an
HTML file in templates/documents/ or instance/templates/documents/."""

from __future__ import annotations

import re
from pathlib import Path

from lanbill.actor import actor_of
from lanbill.db import transaction
from lanbill.documents.render import folders
from lanbill.errors import N_, ValidationError
from lanbill.models import DocumentTemplate
from lanbill.models.documents import DOCUMENT_KINDS
from lanbill.staff import audit

_FILE = re.compile(r"^[A-Za-z0-9_.-]+\.html$")


def add_variant(kind: str, name: str, file: str, *, actor=None, instance_path) -> DocumentTemplate:
    """A new variant; the file must be a plain name (no folders) that
    exists in one of the template folders."""
    errors = {}
    if kind not in DOCUMENT_KINDS:
        errors["kind"] = N_("Unknown kind of document.")
    name = (name or "").strip()
    if not name or len(name) > 128:
        errors["name"] = N_("Required.") if not name else N_("Too long.")
    if not _FILE.match(file or "") or not any((Path(folder) / file).is_file() for folder in folders(instance_path)):
        errors["file"] = N_("Unknown template.")
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    with transaction():
        variant = DocumentTemplate.create(kind=kind, name=name, file=file, is_active=True)
        audit.record(actor_of(actor), "document_template.create", "document_template", variant.id,
                     after={"kind": kind, "name": name, "file": file})
    return variant


def variants() -> list[DocumentTemplate]:
    return list(DocumentTemplate.select().order_by(DocumentTemplate.kind, DocumentTemplate.name))
