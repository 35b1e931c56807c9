"""Every message the API can answer with has its Russian translation, and
no msgid is translated differently in two catalogues (Flask-Babel merges
the area folders of translations/, so one of two different translations
would silently lose)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
# The domain modules the API calls, whose refusals it passes on.
API_SOURCES = [
    *sorted((ROOT / "lanbill" / "api").glob("*.py")),
    ROOT / "lanbill" / "money.py",
    *(ROOT / "lanbill" / "billing" / f"{name}.py"
      for name in ("accounts", "agreements", "blocks", "catalog", "ledger", "payments", "staff", "subscribers")),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalogues() -> dict[str, dict[str, str]]:
    out = {}
    for po in sorted((ROOT / "translations").glob("*/ru/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            out[po.parts[-4]] = {m.id: m.string for m in read_po(handle) if m.id}
    return out


def marked_messages(path: Path) -> set[str]:
    """String literals passed to N_() in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def test_every_api_message_has_a_russian_translation():
    merged = {}
    for messages in catalogues().values():
        merged.update({k: v for k, v in messages.items() if v})
    missing = {
        message: str(path.relative_to(ROOT))
        for path in API_SOURCES if path.exists()
        for message in marked_messages(path)
        if message not in merged
    }
    assert missing == {}


def test_no_msgid_is_translated_differently_in_two_catalogues():
    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for area, messages in catalogues().items():
        for msgid, msgstr in messages.items():
            if msgid in seen and seen[msgid][1] != msgstr:
                conflicts.append((msgid, seen[msgid], (area, msgstr)))
            seen.setdefault(msgid, (area, msgstr))
    assert conflicts == []


def test_translations_keep_the_placeholders():
    for area, messages in catalogues().items():
        for msgid, msgstr in messages.items():
            if msgstr:
                assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), (area, msgid)
