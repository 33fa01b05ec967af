"""The likely duplicates of one contact (``d`` on the contact list): pick one with ``enter`` to merge it
into the focused contact after a yes/no question; ``escape`` closes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.services.dupes import DupeMember
from crm_tui.services.validation import format_phone
from crm_tui.widgets.app_bound import AppBound


class DupesDialog(AppBound, ModalScreen[int | None]):
    """Returns the id of the duplicate chosen for merging, or ``None``."""

    DEFAULT_CSS = """
    DupesDialog {
        align: center middle;
    }
    DupesDialog > Vertical {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    DupesDialog .form-title {
        text-style: bold;
        margin-bottom: 1;
    }
    DupesDialog OptionList {
        height: auto;
        max-height: 20;
    }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="dupes.close")]

    def __init__(self, name: str, found: list[tuple[DupeMember, int, list[str]]]) -> None:
        super().__init__()
        self.contact_name = name
        self.found = found

    def compose(self) -> ComposeResult:
        t = self.crm.t
        with Vertical():
            yield Label(t("dupes.title").format(name=self.contact_name), classes="form-title")
            yield OptionList(
                *[Option(self.line(member, score), id=str(member.id)) for member, score, _ in self.found],
                id="dupes-list",
            )
            yield Label(t("dupes.hint"))

    def line(self, member: DupeMember, score: int) -> str:
        parts = [f"#{member.id} {member.name}"]
        if member.company:
            parts.append(member.company)
        parts += [format_phone(p) for p in member.phones[:1]] + member.emails[:1]
        parts.append(self.crm.t("dupes.score").format(score=score))
        return " · ".join(parts)

    def on_mount(self) -> None:
        self.query_one("#dupes-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#dupes-list")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0) or None)

    def action_close(self) -> None:
        self.dismiss(None)
