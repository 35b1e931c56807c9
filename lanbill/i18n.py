"""Translation catalogues: one per language in Flask-Babel's standard layout
(`translations/ru/LC_MESSAGES/messages.po`; msgids are the English text, so
English needs none).  `make translations` extracts, updates and compiles.

The .po files are the source; .mo files are compiled from them at start-up
when missing or older, so a checkout never carries binaries.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def catalogue_directories(root: Path) -> list[str]:
    """The translations folder for Flask-Babel, with every language's .po
    compiled."""
    if not root.is_dir():
        return []
    for po in root.glob("*/LC_MESSAGES/*.po"):
        compile_po(po)
    return [str(root)]


def compile_po(po: Path) -> Path:
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return mo
    with po.open("rb") as handle:
        catalog = read_po(handle)
    fd, tmp = tempfile.mkstemp(dir=str(po.parent), suffix=".mo.tmp")
    with os.fdopen(fd, "wb") as handle:
        write_mo(handle, catalog)
    os.replace(tmp, mo)  # atomic: several workers may compile at once
    return mo
