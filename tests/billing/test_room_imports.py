"""The domain rooms billing, customers and staff (DESIGN §2): imports at the
top of each module, no import cycle among them, and no Flask nor audience
room (admin, api) — the actor is passed in."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROOMS = ("lanbill/billing", "lanbill/customers", "lanbill/staff")
FORBIDDEN = ("flask", "flask_login", "flask_babel", "flask_wtf", "lanbill.admin", "lanbill.api")


def _modules() -> dict[str, ast.Module]:
    found = {}
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def _imported(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def test_every_import_is_at_the_top_of_its_module():
    local = []
    for name, tree in _modules().items():
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                local.append(f"{name}:{node.lineno}")
    assert local == []


def test_no_flask_and_no_audience_room():
    found = [(name, target) for name, tree in _modules().items() for node in ast.walk(tree)
             for target in _imported(node) if target.split(".")[0] in FORBIDDEN or target.startswith(FORBIDDEN)]
    assert found == []


def test_no_import_cycle_among_the_rooms():
    modules = _modules()
    graph = {name: {target for node in ast.walk(tree) for target in _imported(node) if target in modules}
             - {name} for name, tree in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " → ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
