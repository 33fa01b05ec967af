"""Log a call, an e-mail, a meeting or a note (``l`` on the contact card and on a lead): the kind first
(call by default), then direction, duration, outcome and summary."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label

from crm_tui.i18n import t
from crm_tui.i18n_words import OUTCOMES, outcome_word
from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import interactions
from crm_tui.services.errors import InvalidInput
from crm_tui.services.views import InteractionRow

DIRECTIONS = {
    "out": "call_out",
    "o": "call_out",
    "in": "call_in",
    "i": "call_in",
    "исх": "call_out",
    "вх": "call_in",
    "исходящий": "call_out",
    "входящий": "call_in",
}
KINDS = {
    "call": "call",
    "c": "call",
    "звонок": "call",
    "з": "call",
    "email": "email",
    "e-mail": "email",
    "e": "email",
    "mail": "email",
    "письмо": "email",
    "п": "email",
    "meeting": "meeting",
    "m": "meeting",
    "встреча": "meeting",
    "в": "meeting",
    "note": "note",
    "n": "note",
    "заметка": "note",
}
"""What a person types in the kind field, in English or Russian (a first letter will do)."""
_DURATION = re.compile(r"^(?:(\d+):(\d{1,2})|(\d+)\s*(m|min|мин|s|sec|с|h|ч)?)$")


def parse_duration(text: str, lang: str = "en") -> int:
    """``"5:30"`` -> 330 s; ``"5"`` / ``"5m"`` -> 300 s; ``"90s"`` -> 90 s; ``"1h"`` -> 3600 s."""
    value = text.strip().lower()
    match = _DURATION.match(value)
    if not value or match is None:
        raise InvalidInput(
            t("log-call.not-a-duration", lang).format(text=repr(text)),
            {"duration": t("log-call.duration-format", lang)},
        )
    if match.group(1) is not None:
        return int(match.group(1)) * 60 + int(match.group(2))
    amount, unit = int(match.group(3)), match.group(4) or "m"
    return amount * {"s": 1, "sec": 1, "с": 1, "h": 3600, "ч": 3600}.get(unit, 60)


class LogCallDialog(FormDialog[InteractionRow | None]):
    """Returns the logged interaction as the timeline shows it. A call on a lead closes its first-call
    task (an outcome such as "no answer" moves it instead): the rule of ``interactions.log``."""

    TITLE_KEY = "log.title"
    FIELDS = (
        ("kind", "log.kind", "log.kind.hint"),
        ("direction", "log-call.direction", "log-call.direction.hint"),
        ("duration", "log-call.duration", "log-call.duration.hint"),
        ("outcome", "log-call.outcome", "log-call.outcome.hint"),
        ("summary", "log-call.summary", "log-call.summary.hint"),
    )

    def __init__(
        self, contact_id: int | None = None, deal_id: int | None = None, *, lead_id: int | None = None
    ) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.deal_id = deal_id
        self.lead_id = lead_id

    def initial(self, field: str) -> str:
        if field == "kind":
            return self.crm.t("log.kind.hint")
        return self.crm.t("log-call.direction.hint") if field == "direction" else ""

    def compose_fields(self) -> ComposeResult:
        outcomes = [outcome_word(outcome, self.crm.lang) for outcome in OUTCOMES]
        for field, label_key, placeholder_key in self.FIELDS:
            yield Label(self.crm.t(label_key), classes="field-label")
            suggester = SuggestFromList(outcomes, case_sensitive=False) if field == "outcome" else None
            placeholder = self.crm.t(placeholder_key)
            yield Input(self.initial(field), placeholder=placeholder, id=f"f-{field}", suggester=suggester)
            yield Label("", id=f"error-{field}", classes="field-error")

    def on_mount(self) -> None:
        self.query_one("#f-duration", Input).focus()  # a call, the usual case: its duration first

    async def submit(self) -> InteractionRow | None:
        problems: dict[str, str] = {}
        messages: list[str] = []
        what = KINDS.get(self.value("kind").strip().lower())
        if what is None:
            problems["kind"] = self.crm.t("log.kind-short")
            messages.append(self.crm.t("log.kind-wrong"))
        direction = DIRECTIONS.get(self.value("direction").strip().lower())
        if direction is None and what in ("call", "email"):
            problems["direction"] = self.crm.t("log-call.direction-short")
            messages.append(self.crm.t("log-call.direction-wrong"))
        duration: int | None = None
        if what == "call" or self.value("duration").strip():
            try:
                duration = parse_duration(self.value("duration"), self.crm.lang)
            except InvalidInput as error:
                problems.update(error.fields)
                messages.append(error.message)
        if problems:
            raise InvalidInput("; ".join(messages), problems)
        kind = {"call": direction or "call_out", "meeting": "meeting", "note": "note"}.get(
            what or "call", (direction or "call_out").replace("call", "email")
        )
        return await self.crm.run_db(
            interactions.log,
            kind,
            contact_id=self.contact_id,
            deal_id=self.deal_id,
            lead_id=self.lead_id,
            duration=duration,
            outcome=self.value("outcome"),
            summary=self.value("summary"),
            by=self.crm.user_id,
            now=self.crm.now(),
        )
