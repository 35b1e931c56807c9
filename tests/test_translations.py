"""Every msgid used in lanbill/ and templates/ (via _(), _l(), N_(),
gettext, lazy_gettext, ngettext) has a Russian msgstr in the Russian catalogue
(translations/ru/LC_MESSAGES/messages.po) (the UI is Russian by default)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {
    "_": None,
    "_l": None,
    "N_": None,
    "gettext": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
    "lazy_ngettext": (1, 2),
}
METHODS = [("lanbill/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]


def used_msgids() -> dict[str, str]:
    """msgid → "file:line" of one place that uses it."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, options_map={"templates/**.html": {"extensions": "jinja2.ext.do"}}, keywords=KEYWORDS
    ):
        if not (filename.startswith("lanbill") or filename.startswith("templates")):
            continue
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def russian_msgids() -> set[str]:
    translated = set()
    for po in (ROOT / "translations").glob("ru/LC_MESSAGES/*.po"):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            msgids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings):
                translated.update(msgids)
    return translated


def test_every_msgid_has_a_russian_translation():
    used = used_msgids()
    assert len(used) > 100  # the extraction itself works
    translated = russian_msgids()
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in used.items() if msgid not in translated)
    assert not missing, f"{len(missing)} msgids without Russian:\n" + "\n".join(missing)


def test_one_catalogue_per_language():
    """Flask-Babel's standard layout: translations/<language>/LC_MESSAGES/messages.po."""
    catalogues = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "translations").rglob("*.po"))
    assert catalogues == ["translations/ru/LC_MESSAGES/messages.po"]
