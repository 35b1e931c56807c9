"""The options of each agent type — kinds, ranges, defaults — and the one
check every create and update of an agent goes through (admin form and
API alike), so an agent never reads a value it cannot use."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from lanbill.errors import N_, ValidationError
from lanbill.models.accounts import STATES
from lanbill.network.radius_access import ALLOWED_STATES, access_mode, parse_rate
from lanbill.records import CHECK

# The blocks a RADIUS agent may send to the redirect pool: every state but "active".
BLOCK_STATES = tuple(state for state in STATES if state not in ALLOWED_STATES)
TEXT_MAX_LENGTH = 255


@dataclass(frozen=True)
class AgentOption:
    """One option of an agent type: its kind (integer, choice, text, rate,
    states), its range or choices, the value an agent assumes when the
    option is absent, and the message shown when a value does not fit."""

    key: str
    kind: str
    default: object
    message: str
    minimum: int = 0
    maximum: int = 0
    choices: tuple = ()

    def problem(self, value) -> str | None:
        """The message if `value` does not fit this option, else None."""
        if self.kind == "integer":
            fits = (isinstance(value, int) and not isinstance(value, bool)
                    and self.minimum <= value <= self.maximum)
        elif self.kind == "choice":
            fits = isinstance(value, str) and value in self.choices
        elif self.kind == "text":
            fits = isinstance(value, str) and len(value) <= TEXT_MAX_LENGTH
        elif self.kind == "rate":
            fits = isinstance(value, str) and len(value) <= TEXT_MAX_LENGTH and _is_rate(value)
        elif self.kind == "flag":
            fits = isinstance(value, bool)
        elif self.kind == "states":
            fits = isinstance(value, list | tuple) and all(
                isinstance(state, str) and state in self.choices for state in value)
        else:
            raise ValueError(f"unknown option kind {self.kind!r}")
        return None if fits else self.message


def _is_rate(text: str) -> bool:
    try:
        down, up = parse_rate(text)
    except ValueError:
        return False
    return down >= 0 and up >= 0


@dataclass(frozen=True)
class NetworkListOption(AgentOption):
    """A list of IP networks in CIDR form (host bits clear), e.g. the
    pools static addresses of accounts are handed out from."""

    def problem(self, value) -> str | None:
        if not isinstance(value, list | tuple) or len(value) > self.maximum:
            return self.message
        for item in value:
            try:
                ipaddress.ip_network(str(item).strip(), strict=True)
            except ValueError:
                return self.message
        return None


IP_POOLS_MAX = 64
# Pools static IPs of the agent's accounts are taken from ("next free IP"
# on the account form); the NAS's own dynamic pools are `framed_pool`.
IP_POOLS = NetworkListOption("ip_pools", "networks", (),
                             N_("A list of networks such as 10.0.0.0/24, one per line."), maximum=IP_POOLS_MAX)


PORT = N_("A port number, 1 to 65535.")
SECONDS = N_("From 1 to 86400.")

RADIUS_OPTIONS = (
    AgentOption("auth_port", "integer", 1812, PORT, 1, 65535),
    AgentOption("acct_port", "integer", 1813, PORT, 1, 65535),
    AgentOption("interim_interval", "integer", 300, SECONDS, 1, 86400),
    AgentOption("blocked_policy", "choice", "reject", N_("One of reject, redirect."),
                choices=("reject", "redirect")),
    AgentOption("redirect_pool", "text", "", N_("Text of at most 255 characters.")),
    AgentOption("redirect_rate", "rate", "", N_("Kbit/s as download/upload, e.g. 256/128.")),
    # Only the blocks a payment lifts are redirected to "please pay" by
    # default; staff and user blocks and "off" are rejected.
    AgentOption("redirect_states", "states", ("balance",),
                N_("A list of blocks: balance, admin, traffic, user, off."), choices=BLOCK_STATES),
    AgentOption("framed_pool", "text", "", N_("Text of at most 255 characters.")),
    AgentOption("workers", "integer", 1, N_("From 1 to 16."), 1, 16),
    # MS-CHAPv1 (RFC 2433) hides the password with DES over its NT hash and
    # is cracked offline in hours: off unless an agent's old clients need it.
    AgentOption("allow_mschap1", "flag", False, N_("Yes or no.")),
    IP_POOLS,
)
EXPORTERS_MAX = 1024  # addresses in a NetFlow agent's `exporters` option


@dataclass(frozen=True)
class AddressListOption(AgentOption):
    """A list of single IP addresses (IPv4 or IPv6, no networks): the
    collector looks each datagram's source up in a set, so a network
    cannot be expanded there."""

    def problem(self, value) -> str | None:
        if not isinstance(value, list | tuple) or len(value) > self.maximum:
            return self.message
        for item in value:
            if not isinstance(item, str):
                return self.message
            try:
                ipaddress.ip_address(item.strip())
            except ValueError:
                return self.message
        return None


NETFLOW_OPTIONS = (
    AgentOption("port", "integer", 2055, PORT, 1, 65535),
    AgentOption("flush_seconds", "integer", 60, SECONDS, 1, 86400),
    # DESIGN §7, like the RADIUS agent's NAS: flows count only from known
    # exporters — the IPs of the NAS attached to the agent and these.
    AddressListOption("exporters", "addresses", (),
                      N_("A list of IP addresses of the routers that export flows, e.g. 192.0.2.1."),
                      maximum=EXPORTERS_MAX),
)


def netflow_exporters(options: Mapping | None, nas_addresses=()) -> frozenset[str]:
    """The source addresses a NetFlow agent accepts flows from: its
    `exporters` option and the IPs of its NAS, each as the socket reports
    it (the compressed form; an IPv4 address also as IPv4-mapped IPv6, for
    a listener on an IPv6 address)."""
    out = set()
    for text in [*((options or {}).get("exporters") or ()), *nas_addresses]:
        try:
            address = ipaddress.ip_address(str(text).strip())
        except ValueError:
            continue  # refused when saved; a NAS row holding no IP address admits nothing
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        out.add(address.compressed)
        if address.version == 4:
            out.add("::ffff:" + address.compressed)  # how inet_ntop writes it
    return frozenset(out)


AGENT_OPTIONS: dict[str, tuple[AgentOption, ...]] = {
    "radius": RADIUS_OPTIONS,
    "netflow": NETFLOW_OPTIONS,
    "usbox": (),
}
RADIUS_DEFAULTS = {option.key: option.default for option in RADIUS_OPTIONS}


def option_field(key: str) -> str:
    """The field name a refusal of option `key` is reported under."""
    return "options." + key


def clean_agent_options(agent_type: str, options, *, stored: Mapping | None = None) -> dict:
    """The options of an agent of `agent_type`, checked: each known option
    must fit its kind and range; an unknown key is refused, unless it is
    already stored with the same value (what another part of the system
    keeps there survives an edit).  None is no options.  ValidationError
    with a message per option field (option_field) otherwise."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValidationError(CHECK, fields={"options": N_("Must be an object.")})
    known = {option.key: option for option in AGENT_OPTIONS.get(agent_type, ())}
    stored = stored or {}
    errors = {}
    for key, value in options.items():
        option = known.get(key)
        if option is None:
            if key not in stored or stored[key] != value:
                errors[option_field(key)] = N_("Unknown option.")
            continue
        problem = option.problem(value)
        if problem:
            errors[option_field(key)] = problem
    if errors:
        raise ValidationError(CHECK, fields=errors)
    return dict(options)


class RadiusOptions:
    """A RADIUS agent's options with their defaults applied (DESIGN §7):
    what the agent, its cache and the CoA outbox read."""

    __slots__ = ("auth_port", "acct_port", "blocked_policy", "redirect_pool", "redirect_rate",
                 "redirect_states", "interim_interval", "framed_pool", "workers", "allow_mschap1")

    def __init__(self, options: Mapping | None):
        options = options or {}
        defaults = RADIUS_DEFAULTS
        self.auth_port = int(options.get("auth_port", defaults["auth_port"]))
        self.acct_port = int(options.get("acct_port", defaults["acct_port"]))
        self.blocked_policy = options.get("blocked_policy") or defaults["blocked_policy"]
        self.redirect_pool = options.get("redirect_pool") or defaults["redirect_pool"]
        self.redirect_rate = options.get("redirect_rate") or defaults["redirect_rate"]
        self.redirect_states = tuple(options.get("redirect_states") or defaults["redirect_states"])
        self.interim_interval = int(options.get("interim_interval") or defaults["interim_interval"])
        self.framed_pool = options.get("framed_pool") or defaults["framed_pool"]
        self.workers = max(1, int(options.get("workers") or defaults["workers"]))
        self.allow_mschap1 = options.get("allow_mschap1", defaults["allow_mschap1"]) is True

    def mode_for(self, state: str) -> str:
        """accept | redirect | reject for an account in `state` (access_mode)."""
        return access_mode(state, self.blocked_policy, self.redirect_states)
