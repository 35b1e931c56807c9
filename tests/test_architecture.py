"""The house plan (DESIGN §2, CONVENTIONS "The house, room by room"), checked
on the import graph of lanbill/ and agents/: no import cycle; domain rooms
never import Flask or an audience room; audience rooms never import each
other; agents never import Flask or a view; models use only the database
layer.  Every import counts, top-level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("billing", "customers", "staff", "network", "helpdesk", "documents", "notify", "paysys", "reports",
          "operations")
AUDIENCE = ("admin", "cabinet", "api", "pay")
FLASK = ("flask", "flask_login", "flask_babel", "flask_wtf", "werkzeug", "jinja2")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*ROOT.glob("lanbill/**/*.py"), *ROOT.glob("agents/**/*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Every module (ours, or a third-party top-level name) a file imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name not in known and "." in name:
                name = name.rpartition(".")[0]
            out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for name, path in known.items():
        targets = imports_of(path, known)
        # A package's __init__ importing its own submodules (a blueprint
        # registering its views) is the package being assembled, not a use.
        is_package = path.name == "__init__.py"
        edges[name] = {t for t in targets if not (is_package and t.startswith(name + "."))} - {name}
    return edges


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "agents":
        return "agents"
    return parts[1] if len(parts) > 1 and parts[0] == "lanbill" else None


def test_no_import_cycle():
    edges = graph()
    ours = {name: {t for t in targets if t in edges} for name, targets in edges.items()}
    # Tarjan's strongly connected components, iteratively.
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(start):
        work = [(start, iter(sorted(ours[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(ours[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))

    for name in sorted(ours):
        if name not in index:
            visit(name)
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_rooms_import_only_what_they_may():
    problems = []
    for module, targets in graph().items():
        room = room_of(module)
        for target in sorted(targets):
            top = target.split(".")[0]
            target_room = room_of(target)
            if room in DOMAIN or room == "models":
                # Jinja's sandbox renders staff-written notice texts: a
                # template engine, not web machinery
                if top in FLASK and (module, target) != ("lanbill.notify.texts", "jinja2"):
                    problems.append(f"{module} (domain) imports {target}")
                if target_room in AUDIENCE or target in ("lanbill.auth", "lanbill.captive", "lanbill.jobs",
                                                         "lanbill.cli", "lanbill.tasks"):
                    problems.append(f"{module} (domain) imports {target}")
            if room == "models" and target_room in DOMAIN:
                problems.append(f"{module} (models) imports the domain room {target}")
            if room in AUDIENCE and target_room in AUDIENCE and target_room != room:
                problems.append(f"{module} ({room}) imports another audience room: {target}")
            if room == "agents" and (top in FLASK or target_room in AUDIENCE):
                problems.append(f"{module} (agent) imports {target}")
    assert problems == []


def test_the_graph_sees_the_whole_house():
    edges = graph()
    assert {"lanbill.billing.ledger", "lanbill.staff.access", "lanbill.customers.subscribers",
            "lanbill.network.agents", "agents.radius.server"} <= set(edges)
    assert "lanbill.billing.ledger" in edges["lanbill.billing.payments"]


def test_domain_rooms_import_at_the_top():
    """Domain rooms have no hidden imports: every import at the top of its
    module, so what a module depends on is read in its first lines."""
    local = []
    for name, path in modules().items():
        if room_of(name) not in DOMAIN:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        local += [f"{name}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top]
    assert local == []
