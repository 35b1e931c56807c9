"""Periodic jobs for the worker (each a few lines calling billing/)."""

from lanbill.tasks import huey  # noqa: F401
