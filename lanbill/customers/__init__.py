"""Customers: subscribers, agreements, accounts, operators, subscriber
groups, the address directory, the subscriber search index and the
search queries built over it (DESIGN §3, seed 002).

A domain room: no Flask; the actor is passed in.
"""
