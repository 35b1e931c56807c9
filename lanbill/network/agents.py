"""Agents (RADIUS, NetFlow, USBox) and NAS: create, update with a stale
check, delete; what the agents process serves comes from these rows."""

from __future__ import annotations

import ipaddress

from lanbill.db import transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Account, Agent, Nas
from lanbill.models.agents import AGENT_TYPES, NAS_VENDORS
from lanbill.network.agent_options import clean_agent_options
from lanbill.records import CHECK, check_version, get_record
from lanbill.staff import audit


def create_agent(data: dict, *, actor) -> Agent:
    """A new agent; its options are checked against its type's
    (agent_options.clean_agent_options)."""
    errors = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = N_("Required.")
    if data.get("type") not in AGENT_TYPES:
        errors["type"] = N_("One of radius, netflow, usbox.")
    options = {}
    try:
        options = clean_agent_options(data.get("type"), data.get("options"))
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(CHECK, fields=errors)
    with transaction():
        if Agent.select().where(Agent.name == name.strip()).exists():
            raise Conflict(N_("An agent with this name exists."), fields={"name": N_("Taken.")})
        agent = Agent.create(name=name.strip(), type=data["type"], options=options,
                             listen_address=data.get("listen_address") or "0.0.0.0")
        audit.record(actor, "agent.create", "agent", agent.id, after={"name": agent.name, "type": agent.type})
    return agent


def update_agent(agent_id, data: dict, *, actor, version=None) -> Agent:
    """Rename, change options or listen address, enable or disable.  The
    options are checked against the agent's type (clean_agent_options;
    what is already stored under a key of no type survives).  Every update
    bumps the version; a stale `version` is refused."""
    data = dict(data)
    with transaction():
        agent = get_record(Agent, agent_id)
        check_version(agent, version)
        before = {"name": agent.name, "options": agent.options, "enabled": agent.enabled,
                  "listen_address": agent.listen_address}
        if "name" in data:
            if not isinstance(data["name"], str) or not data["name"].strip():
                raise ValidationError(CHECK, fields={"name": N_("Required.")})
            if Agent.select().where((Agent.name == data["name"].strip()) & (Agent.id != agent.id)).exists():
                raise Conflict(N_("An agent with this name exists."), fields={"name": N_("Taken.")})
            agent.name = data["name"].strip()
        if "options" in data:
            if data["options"] is None:
                raise ValidationError(CHECK, fields={"options": N_("Must be an object.")})
            agent.options = clean_agent_options(agent.type, data["options"], stored=agent.options)
        if "enabled" in data:
            agent.enabled = bool(data["enabled"])
        if data.get("listen_address") is not None:
            agent.listen_address = clean_listen_address(data["listen_address"])
        agent.version = agent.version + 1
        agent.save()
        after = {"name": agent.name, "options": agent.options, "enabled": agent.enabled,
                 "listen_address": agent.listen_address}
        old, new = audit.diff(before, after)
        audit.record(actor, "agent.update", "agent", agent.id, before=old, after=new)
    return Agent.get_by_id(agent.id)


def clean_listen_address(value) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValidationError(CHECK, fields={"listen_address": N_("Not an IP address.")}) from None


def delete_agent(agent_id, *, actor) -> None:
    with transaction():
        agent = get_record(Agent, agent_id)
        if Account.select().where(Account.agent == agent.id).exists():
            raise Conflict(N_("The agent serves accounts; disable it instead."))
        audit.record(actor, "agent.delete", "agent", agent.id, before={"name": agent.name, "type": agent.type})
        Nas.update(agent=None).where(Nas.agent == agent.id).execute()
        agent.delete_instance()


# DESIGN §7, BlastRADIUS (CVE-2024-3596): without a Message-Authenticator in
# its Access-Requests, someone on the path between a NAS and the agent can
# turn a Reject into a forged Accept.
MESSAGE_AUTHENTICATOR_OFF = N_("Message-Authenticator is not required: anyone on the path to this NAS can forge "
                               "an Access-Accept (BlastRADIUS, CVE-2024-3596). Turn it off only for a NAS that "
                               "cannot send it.")


def nas_warnings(nas) -> list[str]:
    """What staff must know about a NAS's settings (messages to
    translate): today, a Message-Authenticator that is not required."""
    return [] if nas.require_message_authenticator else [MESSAGE_AUTHENTICATOR_OFF]


def clean_nas(data: dict, *, partial: bool = False) -> dict:
    out, errors = {}, {}
    if "name" in data or not partial:
        if not isinstance(data.get("name"), str) or not data["name"].strip():
            errors["name"] = N_("Required.")
        else:
            out["name"] = data["name"].strip()
    if "ip" in data or not partial:
        try:
            out["ip"] = str(ipaddress.ip_address(str(data.get("ip", "")).strip()))
        except ValueError:
            errors["ip"] = N_("Not an IP address.")
    if "secret" in data or not partial:
        secret = data.get("secret")
        if not isinstance(secret, str) or not secret:
            errors["secret"] = N_("Required.")
        elif len(secret) > 128:
            errors["secret"] = N_("At most 128 characters.")
        else:
            out["secret"] = secret
    if "vendor" in data:
        if data["vendor"] not in NAS_VENDORS:
            errors["vendor"] = N_("One of mikrotik, accel-ppp, cisco, generic.")
        else:
            out["vendor"] = data["vendor"]
    if "coa_port" in data:
        port = data["coa_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            errors["coa_port"] = N_("A port number, 1 to 65535.")
        else:
            out["coa_port"] = port
    if "agent_id" in data and data["agent_id"] is not None:
        if Agent.get_or_none(Agent.id == data["agent_id"]) is None:
            errors["agent_id"] = N_("No such agent.")
        else:
            out["agent"] = data["agent_id"]
    if "require_message_authenticator" in data:
        out["require_message_authenticator"] = bool(data["require_message_authenticator"])
    if errors:
        raise ValidationError(CHECK, fields=errors)
    return out


def create_nas(data: dict, *, actor) -> Nas:
    fields = clean_nas(data)
    with transaction():
        if Nas.select().where(Nas.ip == fields["ip"]).exists():
            raise Conflict(N_("A NAS with this IP exists."), fields={"ip": N_("Taken.")})
        nas = Nas.create(**fields)
        audit.record(actor, "nas.create", "nas", nas.id, after={"name": nas.name, "ip": nas.ip})
    return nas


def update_nas(nas_id, data: dict, *, actor, version=None) -> Nas:
    """Change a NAS; `agent_id: None` detaches it from its agent.  Every
    update bumps the version; a stale `version` is refused."""
    fields = clean_nas(data, partial=True)
    with transaction():
        nas = get_record(Nas, nas_id)
        check_version(nas, version)
        if "ip" in fields and Nas.select().where((Nas.ip == fields["ip"]) & (Nas.id != nas.id)).exists():
            raise Conflict(N_("A NAS with this IP exists."), fields={"ip": N_("Taken.")})
        if "agent_id" in data and data["agent_id"] is None:
            fields["agent"] = None
        for key, value in fields.items():
            setattr(nas, key, value)
        nas.version = nas.version + 1
        nas.save()
        audit.record(actor, "nas.update", "nas", nas.id,
                     after={k: (v.id if isinstance(v, Agent) else v) for k, v in fields.items() if k != "secret"})
    return Nas.get_by_id(nas.id)


def delete_nas(nas_id, *, actor) -> None:
    with transaction():
        nas = get_record(Nas, nas_id)
        audit.record(actor, "nas.delete", "nas", nas.id, before={"name": nas.name, "ip": nas.ip})
        nas.delete_instance()
