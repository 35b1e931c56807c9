"""What a RADIUS agent grants an account: accept, redirect to the "please
pay" pool or reject, by the account's state and the agent's blocked
policy, and the speed the account runs at (DESIGN §7, seed 002)."""

from __future__ import annotations

# The one state that is let in as it is; every block and "off" is not.
ALLOWED_STATES = frozenset({"active"})
# The agent types that let an account in by its service password (PAP,
# CHAP, MS-CHAP).  A NetFlow agent knows an account by its IP addresses
# only, and services (USBox) authenticate nobody.
PASSWORD_AGENT_TYPES = frozenset({"radius"})


def needs_service_password(agent_type: str) -> bool:
    """Whether an account served by an agent of `agent_type` must have a
    service password (DESIGN §8: nothing logs in with an empty password;
    an empty one would pass PAP, CHAP and MS-CHAP for anyone).  False only
    for agents that authorise by IP alone."""
    return agent_type in PASSWORD_AGENT_TYPES


def access_mode(state: str, blocked_policy: str, redirect_states) -> str:
    """accept | redirect | reject for an account in `state` (DESIGN §7):
    an active account is accepted; on an agent whose blocked policy is
    "redirect", the blocks listed in its redirect_states go to the redirect
    pool; anything else is rejected."""
    if state in ALLOWED_STATES:
        return "accept"
    if blocked_policy == "redirect" and state in redirect_states:
        return "redirect"
    return "reject"


def parse_rate(text: str) -> tuple[int, int]:
    """An agent's redirect_rate option ("256/128", "256k/128k" or "256",
    kbit/s) → (download, upload); empty → (0, 0).  ValueError if it is not
    such a rate."""
    text = (text or "").strip().lower().replace("k", "")
    if not text:
        return 0, 0
    if "/" in text:
        down, _, up = text.partition("/")
        return int(down or 0), int(up or 0)
    return int(text), int(text)


def speed_of(bandwidth_kbit: int, tariff_speed: tuple[int, int] | None) -> tuple[int, int]:
    """(download, upload) kbit/s of an account (seed 002): its own
    bandwidth both ways, or its tariff's (download, upload) when the
    bandwidth is 0; (0, 0), no limit, without a tariff."""
    if bandwidth_kbit:
        return bandwidth_kbit, bandwidth_kbit
    if tariff_speed is None:
        return 0, 0
    return tariff_speed
