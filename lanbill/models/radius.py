"""RADIUS agent tables: online sessions, the CoA/Disconnect queue with its
outcomes, the agents' published counters and the event-feed cursors."""

from __future__ import annotations

import peewee

from lanbill.db import JSONField
from lanbill.models.base import BaseModel, utcnow


class RadiusSession(BaseModel):
    """One accounting session (RFC 2866).  Open while `stopped_at` is NULL.

    Octets are 64-bit (Gigawords folded in), from the NAS's point of view:
    `input_octets` came from the subscriber (upload), `output_octets` went
    to the subscriber (download).  `billed_*` is what was already moved into
    hourly traffic counters for tariffs that take volume from RADIUS.
    `state_changed_at` moves only when the session opens or closes: the
    agents poll it to keep their simultaneous-use counts."""

    agent_id = peewee.IntegerField(index=True)
    nas_id = peewee.IntegerField()
    account_id = peewee.IntegerField(null=True)
    login = peewee.CharField(max_length=64)
    acct_session_id = peewee.CharField(max_length=64)
    framed_ip = peewee.CharField(max_length=45, default="")
    calling_station_id = peewee.CharField(max_length=64, default="")
    nas_port = peewee.CharField(max_length=64, default="")
    started_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    stopped_at = peewee.DateTimeField(null=True)
    state_changed_at = peewee.DateTimeField(index=True)
    session_time = peewee.BigIntegerField(default=0)
    input_octets = peewee.BigIntegerField(default=0)
    output_octets = peewee.BigIntegerField(default=0)
    interim_interval = peewee.IntegerField(default=300)
    terminate_cause = peewee.IntegerField(null=True)
    close_reason = peewee.CharField(max_length=16, default="")  # stop | stale | nas-reboot
    billed_input = peewee.BigIntegerField(default=0)
    billed_output = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = (
            (("account_id", "stopped_at"), False),
            (("nas_id", "acct_session_id"), False),
        )

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


COA_STATUSES = ("pending", "ack", "nak", "gone", "failed")


class CoaRequest(BaseModel):
    """A CoA-Request or Disconnect-Request (RFC 5176) to send to a NAS,
    and what came of it.  Retried with backoff until ACK or NAK; a request
    given up on stays here as `failed` and is shown in the account's
    history — never dropped silently (DESIGN §5)."""

    account_id = peewee.IntegerField(null=True, index=True)
    session_id = peewee.IntegerField(null=True)
    nas_id = peewee.IntegerField()
    kind = peewee.CharField(max_length=16)  # disconnect | coa
    reason = peewee.CharField(max_length=32, default="")  # block | unblock | speed | staff | fallback
    state_change_id = peewee.IntegerField(null=True)
    attributes = JSONField(default=dict)
    status = peewee.CharField(max_length=16, default="pending", index=True)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=utcnow, index=True)
    last_attempt_at = peewee.DateTimeField(null=True)
    error_cause = peewee.IntegerField(null=True)
    result = peewee.TextField(default="")
    actor = peewee.CharField(max_length=128, default="")
    created_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)


class RadiusAgentStatus(BaseModel):
    """Counters one agent process published (every few seconds) for the
    status page: requests/s, accepts, rejects, drops by reason."""

    agent_id = peewee.IntegerField()
    worker = peewee.CharField(max_length=64)
    counters = JSONField(default=dict)
    requests_per_second = peewee.IntegerField(default=0)  # a status rate, rounded; never money
    last_packet_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("agent_id", "worker"), True),)


class RadiusCursor(BaseModel):
    """How far an agent read an event feed (AccountStateChange ids)."""

    name = peewee.CharField(max_length=64, unique=True)
    value = peewee.BigIntegerField(default=0)
