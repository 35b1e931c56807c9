"""Translation catalogues: one folder per area under translations/
(`translations/<area>/ru/LC_MESSAGES/messages.po`), merged by Flask-Babel.

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
    """Every area folder under `root`, with its .po files compiled."""
    if not root.is_dir():
        return []
    directories = []
    for area in sorted(p for p in root.iterdir() if p.is_dir()):
        for po in area.glob("*/LC_MESSAGES/*.po"):
            compile_po(po)
        directories.append(str(area))
    return directories


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
