"""App-wide messages. Screens post or receive them; nested widget messages live in their widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class RecordChanged(Message):
    """A record was written from this app (lead, contact, company, deal, task): views may refresh."""

    kind: str
    id: int


@dataclass
class LeadsArrived(Message):
    """Leads newer than ``after_id`` exist (registered by any process); ``latest_id`` is the newest."""

    after_id: int
    latest_id: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LeadsArrived)
