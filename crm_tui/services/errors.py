"""Errors the rules raise. Each carries a message a user can act on; nothing was written when raised.

Each also carries a stable ``code`` (``deal.closed``, ``amount.invalid``...) and the ``params`` that fill
its message, so a face can say it in the user's language and a script can test for it without parsing
an English sentence. ``--json`` error output and stored events use the code, never the sentence.
"""

from __future__ import annotations

from typing import Any


class CrmError(Exception):
    title = "Error"
    code = "error"

    def __init__(
        self,
        message: str,
        title: str | None = None,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if title:
            self.title = title
        if code:
            self.code = code
        self.params: dict[str, Any] = dict(params or {})


class NotFound(CrmError):
    title = "Not found"
    code = "not_found"


class InvalidInput(CrmError):
    """Bad input. ``fields`` maps a field name to what is wrong with it (for inline form messages)."""

    title = "Invalid input"
    code = "invalid"

    def __init__(
        self,
        message: str,
        fields: dict[str, str] | None = None,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, params=params)
        self.fields = fields or {}


class RuleViolation(CrmError):
    """The sales process does not allow this (e.g. winning a deal whose acts are not signed)."""

    title = "Not allowed"
    code = "rule"


class NeedsReason(RuleViolation):
    """The step is allowed only with a reason (losing a deal, disqualifying a lead)."""

    title = "Reason required"
    code = "reason_required"
