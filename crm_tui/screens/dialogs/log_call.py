"""Log a call from the contact card: direction, duration, outcome and summary."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label

from crm_tui.screens.dialogs.note import FormDialog, db_call
from crm_tui.services import interactions
from crm_tui.services.errors import InvalidInput
from crm_tui.services.views import InteractionRow

OUTCOMES = ("reached", "no answer", "busy", "voicemail", "call back later", "wrong number", "not interested")
DIRECTIONS = {"out": "call_out", "o": "call_out", "in": "call_in", "i": "call_in",
              "исх": "call_out", "вх": "call_in"}
_DURATION = re.compile(r"^(?:(\d+):(\d{1,2})|(\d+)\s*(m|min|мин|s|sec|с|h|ч)?)$")


def parse_duration(text: str) -> int:
    """``"5:30"`` -> 330 s; ``"5"`` / ``"5m"`` -> 300 s; ``"90s"`` -> 90 s; ``"1h"`` -> 3600 s."""
    value = text.strip().lower()
    match = _DURATION.match(value)
    if not value or match is None:
        raise InvalidInput(
            f"Not a duration: {text!r} (5:30, 5m, 90s)", {"duration": "use 5:30, 5m or 90s"}
        )
    if match.group(1) is not None:
        return int(match.group(1)) * 60 + int(match.group(2))
    amount, unit = int(match.group(3)), match.group(4) or "m"
    return amount * {"s": 1, "sec": 1, "с": 1, "h": 3600, "ч": 3600}.get(unit, 60)


class LogCallDialog(FormDialog[InteractionRow | None]):
    """Returns the logged call as the timeline shows it."""

    TITLE_TEXT = "Log a call"
    FIELDS = (
        ("direction", "Direction (out / in)", "out"),
        ("duration", "Duration (5:30, 5m, 90s)", "5:30"),
        ("outcome", "Outcome", "reached, no answer, busy, voicemail…"),
        ("summary", "Summary", "What was said, what was agreed"),
    )

    def __init__(self, contact_id: int, deal_id: int | None = None) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.deal_id = deal_id

    def initial(self, field: str) -> str:
        return "out" if field == "direction" else ""

    def compose_fields(self) -> ComposeResult:
        for field, label, placeholder in self.FIELDS:
            yield Label(label, classes="field-label")
            suggester = SuggestFromList(OUTCOMES, case_sensitive=False) if field == "outcome" else None
            yield Input(self.initial(field), placeholder=placeholder, id=f"f-{field}", suggester=suggester)
            yield Label("", id=f"error-{field}", classes="field-error")

    def on_mount(self) -> None:
        self.query_one("#f-duration", Input).focus()

    async def submit(self) -> InteractionRow | None:
        problems: dict[str, str] = {}
        messages: list[str] = []
        kind = DIRECTIONS.get(self.value("direction").strip().lower())
        if kind is None:
            problems["direction"] = "out or in"
            messages.append("Direction is 'out' or 'in'")
        duration = 0
        try:
            duration = parse_duration(self.value("duration"))
        except InvalidInput as error:
            problems.update(error.fields)
            messages.append(error.message)
        if problems:
            raise InvalidInput("; ".join(messages), problems)
        return await db_call(
            self.crm, interactions.log, kind or "call_out", contact_id=self.contact_id, deal_id=self.deal_id,
            duration=duration, outcome=self.value("outcome"), summary=self.value("summary"),
            by=self.crm.user_id, now=self.crm.now(),
        )
