"""Refusals of domain functions: a user-facing message key and its fields."""

from __future__ import annotations


def N_(text: str) -> str:
    """Mark a message for translation; the UI or API translates it."""
    return text


class BillingError(Exception):
    """A domain function refused.  `message` is an English msgid with
    %(name)s placeholders filled from `params`; `fields` maps form/API field
    names to such messages; `status` is the HTTP status the API answers."""

    status = 422

    def __init__(self, message: str, *, fields: dict | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
        self.fields = fields or {}


class NotFound(BillingError):
    status = 404


class Conflict(BillingError):
    status = 409


class ValidationError(BillingError):
    status = 422
