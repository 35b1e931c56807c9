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


def staff_actor(manager, ip: str = "") -> Actor:
    """A manager acting from the client address `ip`.  A request knows the
    address: screens and the API pass an Actor made with it (the admin's
    current_actor, the API's actor), so the audit log shows where a change
    came from."""
    return Actor(f"manager:{manager.login}", manager_id=manager.id, ip=ip, is_staff=True)


def actor_of(who) -> Actor:
    """Accept an Actor, a Manager, a label string, or None (the system).

    A bare Manager carries no client address: code serving a request
    passes an Actor (staff_actor) instead, so the address is not lost."""
    if who is None:
        return SYSTEM
    if isinstance(who, Actor):
        return who
    if isinstance(who, str):
        return Actor(who)
    if getattr(who, "login", None) is not None:  # a Manager
        return staff_actor(who)
    raise TypeError(f"not an actor: {who!r}")


def job(name: str) -> Actor:
    return Actor(f"job:{name}")
