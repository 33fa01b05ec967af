"""Errors the rules raise. Each carries a message a user can act on; nothing was written when raised."""

from __future__ import annotations


class CrmError(Exception):
    title = "Error"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title:
            self.title = title


class NotFound(CrmError):
    title = "Not found"


class InvalidInput(CrmError):
    """Bad input. ``fields`` maps a field name to what is wrong with it (for inline form messages)."""

    title = "Invalid input"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class RuleViolation(CrmError):
    """The sales process does not allow this (e.g. winning a deal whose acts are not signed)."""

    title = "Not allowed"


class NeedsReason(RuleViolation):
    """The step is allowed only with a reason (losing a deal, disqualifying a lead)."""

    title = "Reason required"
