"""``?``: every key of the screen underneath, with what it does; and the placeholder for modes to come."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Static

from crm_tui.i18n import t
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from crm_tui.app import CrmApp


def textual_text(text: str, lang: str) -> str:
    """A label of Textual's own bindings in ``lang`` (i18n key ``help.textual.<English text>``)."""
    if not text or lang == "en":
        return text
    key = f"help.textual.{text}"
    translated = t(key, lang)
    return text if translated == key else translated


def screen_bindings(screen: Screen[Any], lang: str = "en") -> list[tuple[str, str, str]]:
    """(key, description, tooltip) of every binding active on ``screen``: focused widget up to the app."""
    app = screen.app
    seen: set[str] = set()
    rows: list[tuple[str, str, str]] = []
    focused = screen.focused
    widgets = [n for n in focused.ancestors_with_self if n is not screen and n is not app] if focused else []
    nodes = [screen, app, *widgets]  # the screen's own keys first, then the shell's, then the widget's
    for node in nodes:
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                if key in seen or not binding.description or binding.system:
                    continue
                seen.add(key)
                description, tooltip = binding.description, binding.tooltip or ""
                if not binding.id:  # Textual's own keys (focus, cursor, copy): named by their English text
                    description, tooltip = textual_text(description, lang), textual_text(tooltip, lang)
                rows.append((app.get_key_display(binding), description, tooltip))
    palette_key = app.COMMAND_PALETTE_BINDING
    if palette_key not in seen and app.ENABLE_COMMAND_PALETTE:
        palette = app.get_key_display(Binding(palette_key, ""))
        rows.append((palette, t("help.palette", lang), t("help.palette.tip", lang)))
    return rows


class HelpScreen(AppBound, ModalScreen[None]):
    """A table of the keys; ``escape`` or ``?`` closes it."""

    BINDINGS = [
        Binding("escape,question_mark", "dismiss", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90; max-width: 100%; height: auto; max-height: 90%;
                            border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen DataTable { height: auto; max-height: 30; }
    HelpScreen #help-hint { color: $text-muted; }
    """

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.rows = screen_bindings(screen, cast("CrmApp", screen.app).lang)
        self.screen_name = type(screen).__name__

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.crm.t('help.title')}[/b]", id="help-title")
            table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True, id="help-keys")
            table.add_columns(self.crm.t("help.key"), self.crm.t("help.does"), "")
            for key, description, tooltip in self.rows:
                table.add_row(key, description, tooltip)
            yield table
            yield Static(self.crm.t("help.close"), id="help-hint")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class PlaceholderScreen(AppBound, Screen[None]):
    """A mode whose screen is not there yet: it says what will come, and the shell keys still work."""

    DEFAULT_CSS = """
    PlaceholderScreen #placeholder { width: 1fr; height: 1fr; content-align: center middle; }
    """

    def __init__(self, text_key: str) -> None:
        super().__init__()
        self.text_key = text_key

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(cast("CrmApp", self.app).t(self.text_key), id="placeholder")
        yield KeyFooter()
