"""A manager's own preferences: UI language and the visible columns of each
admin table (Manager.language, Manager.preferences["columns"])."""

from __future__ import annotations

from lanbill.db import transaction
from lanbill.errors import N_, ValidationError
from lanbill.models import Manager, SavedSearch

LANGUAGES = ("ru", "en")


def set_language(manager: Manager, language: str) -> None:
    """Russian by default; English selectable per manager (DESIGN §8)."""
    if language not in LANGUAGES:
        raise ValidationError(N_("Unknown language."), fields={"language": N_("One of ru, en.")})
    with transaction():
        Manager.update(language=language).where(Manager.id == manager.id).execute()
    manager.language = language


def set_table_columns(manager: Manager, table: str, columns: list[str] | None) -> None:
    """Remember which columns of `table` the manager sees; None restores the
    default set.  Unknown keys are filtered by the table when it is read."""
    if not table or len(table) > 64:
        raise ValidationError(N_("Unknown table."))
    with transaction():
        current = Manager.get_by_id(manager.id)
        prefs = dict(current.preferences or {})
        chosen = dict(prefs.get("columns") or {})
        if columns:
            chosen[table] = [str(c)[:64] for c in columns][:50]
        else:
            chosen.pop(table, None)
        prefs["columns"] = chosen
        Manager.update(preferences=prefs).where(Manager.id == manager.id).execute()
    manager.preferences = prefs


def save_search(manager: Manager, name: str, rules: dict, *, search_id: int | None = None):
    """Save the advanced search's rule set ("Сохранить", seed 002).  A set
    without rules is deleted instead; returns the SavedSearch or None."""
    name = (name or "").strip()
    has_rules = bool(rules.get("rules")) if isinstance(rules, dict) else bool(rules)
    with transaction():
        existing = None
        if search_id is not None:
            existing = SavedSearch.get_or_none((SavedSearch.id == search_id) & (SavedSearch.manager_id == manager.id))
        if not has_rules:
            if existing is not None:
                existing.delete_instance()
            return None
        if not name and existing is None:
            raise ValidationError(N_("Give the rule set a name."), fields={"name": N_("Required.")})
        if len(name) > 128:
            raise ValidationError(N_("At most 128 characters."), fields={"name": N_("At most 128 characters.")})
        if existing is not None:
            existing.rules = rules
            if name:
                existing.name = name
            existing.save()
            return existing
        return SavedSearch.create(manager_id=manager.id, name=name, rules=rules)


def delete_search(manager: Manager, search_id: int) -> None:
    with transaction():
        SavedSearch.delete().where((SavedSearch.id == search_id) & (SavedSearch.manager_id == manager.id)).execute()
