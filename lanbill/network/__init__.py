"""The network side: agents and NAS, traffic categories, traffic
statistics, RADIUS sessions and the CoA/Disconnect outbox (DESIGN §7).
The agents themselves (sockets, wire formats, caches) live in agents/.

A domain room: no Flask; the actor is passed in.
"""
