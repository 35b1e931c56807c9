"""The NetFlow v5/v9/IPFIX collector (DESIGN §7).

protocol.py parses datagrams (pure), matcher.py finds accounts and
categories by longest prefix, aggregator.py keeps hourly counters and
writes them, cache.py mirrors the accounts of one agent, mmsg.py reads
many datagrams per system call, server.py owns the sockets and threads.

Hot path: the receiving thread reads up to 256 datagrams per recvmmsg
call (pausing 4 ms when the socket was nearly empty, so they arrive in
bursts) and `Decoder.feed_burst` checks the headers, sequence numbers and
templates of a whole burst in numpy; every 512 datagrams the matching
thread decodes, matches (IPv4 and IPv6 vectorised) and adds them to the
hourly counters.  `.venv/bin/python -m tests.perf.test_netflow_perf`
prints the CPU cost per million records.

Trust: only datagrams from the agent's exporters (the IPs of its NAS and
its `exporters` option) are decoded — any other source is dropped before
decoding and counted; templates, observation domains and exporters are
capped (NETFLOW_MAX_*), idle exporters forgotten; an impossible record
(sampling rate, bytes × rate) is dropped alone and an export time far
from the clock is replaced by it, each counted on the status page.

Operations: each NetFlow agent listens on its `port` option (default
2055; LANBILL_NETFLOW_PORT overrides it for the first agent) with a
4 MiB receive buffer — raise `net.core.rmem_max` to 4194304 if the agent
does not run as root.  Counters are written every `flush_seconds` (60)
and on SIGTERM/Ctrl-C; the status per exporter is at /admin/netflow.
"""
