"""Staff: managers and their passwords, roles, API tokens, login limits,
the audit log, preferences, and `access.py` — who may see which
subscribers, asked alike by the admin screens, the API, the cabinet and
reports.

A domain room: no Flask; the actor is passed in.
"""
