"""HTML templates outside a request: a Jinja2 environment over a list of
folders (the first that has a file wins), for the documents room, which
renders PDFs from templates/documents/ with per-installation overrides in
instance/templates/documents/ (DESIGN §12).

Jinja2 is kept here, beside money and clock, so the domain rooms stay free
of the web stack's imports (tests/test_architecture.py): this module knows
nothing of Flask, requests or sessions."""

from __future__ import annotations

import threading

import jinja2

_envs: dict[tuple, jinja2.Environment] = {}
_lock = threading.Lock()


def environment(folders: tuple[str, ...], filters: dict) -> jinja2.Environment:
    """An autoescaping environment over `folders` (cached per folders)."""
    key = (tuple(folders), tuple(sorted(filters)))
    with _lock:
        env = _envs.get(key)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder) for folder in folders]),
                autoescape=True, undefined=jinja2.StrictUndefined, auto_reload=True,
            )
            env.filters.update(filters)
            _envs[key] = env
        return env


def render(folders: tuple[str, ...], name: str, filters: dict, **context) -> str:
    return environment(folders, filters).get_template(name).render(**context)
