"""Traffic statistics: hourly counters per (account, category), the
optional detail per remote address and port, and the NetFlow collector's
status per exporter."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow


class TrafficHourly(BaseModel):
    """Bytes of one account in one category during one hour (UTC).

    `category_id` NULL: traffic of no category of the tariff (NetFlow), or
    volume reported by RADIUS accounting, which knows no categories."""

    account_id = peewee.IntegerField()
    category_id = peewee.IntegerField(null=True)
    hour = peewee.DateTimeField(index=True)  # start of the hour, UTC
    bytes_in = peewee.BigIntegerField(default=0)
    bytes_out = peewee.BigIntegerField(default=0)
    # when the counters last grew: volume charging looks only at accounts
    # whose traffic changed since its last run
    updated_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("account_id", "hour", "category_id"), True),)


class TrafficDetail(BaseModel):
    """Bytes per remote address (and port, 0 when not kept) for accounts
    with "keep remote address/port" (seed 002: short-term, selective)."""

    account_id = peewee.IntegerField()
    category_id = peewee.IntegerField(null=True)
    hour = peewee.DateTimeField(index=True)
    remote = peewee.CharField(max_length=45)
    port = peewee.IntegerField(default=0)
    bytes_in = peewee.BigIntegerField(default=0)
    bytes_out = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = ((("account_id", "hour", "remote", "port", "category_id"), True),)


class NetflowStatus(BaseModel):
    """Counters of one exporter as the NetFlow agent last wrote them (every
    flush): the agents page reads these, the agent process owns them."""

    agent_id = peewee.IntegerField()
    exporter = peewee.CharField(max_length=45)
    packets = peewee.BigIntegerField(default=0)
    records = peewee.BigIntegerField(default=0)
    bytes = peewee.BigIntegerField(default=0)
    malformed = peewee.BigIntegerField(default=0)
    unknown_template_sets = peewee.BigIntegerField(default=0)
    dropped_sets = peewee.BigIntegerField(default=0)
    lost_flows = peewee.BigIntegerField(default=0)
    lost_packets = peewee.BigIntegerField(default=0)
    unmatched_records = peewee.BigIntegerField(default=0)
    unmatched_bytes = peewee.BigIntegerField(default=0)
    bad_records = peewee.BigIntegerField(default=0)  # dropped: a sampling rate or byte count no router sends
    clamped_times = peewee.BigIntegerField(default=0)  # packets whose export time was replaced by the clock
    dropped_templates = peewee.BigIntegerField(default=0)  # beyond NETFLOW_MAX_TEMPLATES_PER_DOMAIN
    dropped_domains = peewee.BigIntegerField(default=0)  # packets beyond NETFLOW_MAX_DOMAINS_PER_EXPORTER
    packets_per_second = peewee.IntegerField(default=0)
    records_per_second = peewee.IntegerField(default=0)
    last_packet_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("agent_id", "exporter"), True),)


class NetflowAgentStatus(BaseModel):
    """Counters of one NetFlow agent that belong to no exporter: datagrams
    from addresses that are not its exporters (dropped before decoding),
    and from exporters beyond NETFLOW_MAX_EXPORTERS.  Written with the
    exporters' rows at every flush."""

    agent_id = peewee.IntegerField(unique=True)
    unknown_exporter = peewee.BigIntegerField(default=0)
    dropped_exporters = peewee.BigIntegerField(default=0)
    exporters = peewee.IntegerField(default=0)  # exporters the collector keeps state for
    updated_at = peewee.DateTimeField(default=utcnow)
