"""Every message the API can answer with — its own and the refusals of the
domain rooms it passes on — has its Russian translation, and every
translation keeps the message's placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
# The API and the domain rooms it calls, whose refusals it passes on.
API_SOURCES = [
    *sorted((ROOT / "lanbill" / "api").glob("*.py")),
    *(ROOT / "lanbill" / f"{name}.py" for name in ("money", "records", "errors")),
    *(path for room in ("billing", "customers", "staff", "network")
      for path in sorted((ROOT / "lanbill" / room).glob("*.py"))),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalogues() -> dict[str, dict[str, str]]:
    out = {}
    for po in sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            out[po.parts[-3]] = {m.id: m.string for m in read_po(handle) if m.id}
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
    russian = {k: v for k, v in catalogues()["ru"].items() if v}
    missing = {
        message: str(path.relative_to(ROOT))
        for path in API_SOURCES
        for message in marked_messages(path)
        if message not in russian
    }
    assert len(API_SOURCES) > 30 and missing == {}


def test_translations_keep_the_placeholders():
    for language, messages in catalogues().items():
        for msgid, msgstr in messages.items():
            if msgstr:
                assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), (language, msgid)
