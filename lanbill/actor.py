"""Who caused a change: a manager, an API token, a job, a subscriber."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """`label` is what history shows ("manager:admin", "job:rent",
    "subscriber:42", "system"); `manager_id` links staff actions."""

    label: str
    manager_id: int | None = None
    ip: str = ""
    is_staff: bool = False


SYSTEM = Actor("system")


def actor_of(who) -> Actor:
    """Accept an Actor, a Manager, a label string, or None (the system)."""
    if who is None:
        return SYSTEM
    if isinstance(who, Actor):
        return who
    if isinstance(who, str):
        return Actor(who)
    login = getattr(who, "login", None)
    if login is not None:  # a Manager
        return Actor(f"manager:{login}", manager_id=who.id, is_staff=True)
    raise TypeError(f"not an actor: {who!r}")


def job(name: str) -> Actor:
    return Actor(f"job:{name}")
