"""``/``: search leads, contacts, companies and deals as you type; ``enter`` opens the highlighted hit.

Each keystroke starts a thread-worker query on the trigram index (LIMIT 30); a newer keystroke
cancels the older one's display, so the list always matches what is in the box.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.services import search as search_service
from crm_tui.services.views import SearchHit
from crm_tui.widgets.app_bound import AppBound

LIMIT = 30


class SearchScreen(AppBound, ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="search.close"),
        Binding("down", "down", "Next", show=False, id="search.down"),
        Binding("up", "up", "Previous", show=False, id="search.up"),
    ]
    DEFAULT_CSS = """
    SearchScreen { align: center top; }
    SearchScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 90%; margin-top: 2;
                              border: round $primary; background: $surface; }
    SearchScreen #search-hits { height: auto; max-height: 24; border: none; }
    SearchScreen #search-status { color: $text-muted; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[SearchHit] = []
        self.asked = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(placeholder=self.crm.t("search.placeholder"), id="search-input")
            yield OptionList(id="search-hits")
            yield Static(self.crm.t("search.hint"), id="search-status")

    @on(Input.Changed, "#search-input")
    def typed(self, event: Input.Changed) -> None:
        self.asked = event.value
        self.run_search(event.value)

    @work(group="search", exclusive=True, exit_on_error=False)
    async def run_search(self, text: str) -> None:
        hits = await self.crm.run_db(search_service.search, text, limit=LIMIT) if text.strip() else []
        if text != self.asked:
            return  # a newer keystroke is on its way
        self.hits = hits
        options = self.query_one("#search-hits", OptionList)
        options.set_options(
            Option(f"{self.kind_label(h.kind):<8} {h.label}" + (f"  ·  {h.detail}" if h.detail else ""))
            for h in hits
        )
        if hits:
            options.highlighted = 0
        status = self.crm.t("search.none") if text.strip() and not hits else self.crm.t("search.hint")
        if hits:
            status = f"{len(hits)}{'+' if len(hits) == LIMIT else ''} · ↑↓ enter"
        self.query_one("#search-status", Static).update(status)

    def kind_label(self, kind: str) -> str:
        """``Lead``, ``Contact``… in the app's language."""
        key = f"search.kind.{kind}"
        label = self.crm.t(key)
        return kind if label == key else label

    def action_down(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_up()

    @on(Input.Submitted, "#search-input")
    async def submitted(self) -> None:
        index = self.query_one("#search-hits", OptionList).highlighted
        if index is not None and index < len(self.hits):
            await self.open_hit(self.hits[index])

    @on(OptionList.OptionSelected, "#search-hits")
    async def selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.hits):
            await self.open_hit(self.hits[event.option_index])

    async def open_hit(self, hit: SearchHit) -> None:
        self.dismiss(None)
        await self.crm.open_record(hit.kind, hit.id)

    def action_close(self) -> None:
        self.dismiss(None)
