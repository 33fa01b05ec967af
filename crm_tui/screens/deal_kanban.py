"""The deal kanban (mode ``2``): one column per stage, cards that move through the sales process.

Every move goes through ``deals.step`` / ``deals.move`` / ``deals.lose``, the rules the CLI uses: a
refusal is shown with its reason and nothing changes. Columns load a page of cards and more as the
cursor nears the end; the headers count and sum from ``deals.stage_columns()`` (one grouped query).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from crm_tui.screens.dialogs.note import QuestionDialog, ReasonForm, db_call
from crm_tui.services import deals
from crm_tui.services.errors import CrmError, NeedsReason, RuleViolation
from crm_tui.services.views import DealRow
from crm_tui.services.views import StageColumn as StageTotals
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.stage_column import StageColumn

if TYPE_CHECKING:
    pass

FIRST_PAGE = 15
NEXT_PAGE = 30
MIN_COLUMN = 24


class KanbanBoard(AppBound, HorizontalScroll, can_focus=True, inherit_bindings=False):
    """The row of columns. It holds the focus for the whole board and sends the cursor keys to the
    active column's cards (``j``/``k`` move like the arrows)."""

    BINDINGS = [
        Binding("down,j", "cards('cursor_down')", "Down", show=False),
        Binding("up,k", "cards('cursor_up')", "Up", show=False),
        Binding("home", "cards('first')", "First", show=False),
        Binding("end", "cards('last')", "Last", show=False),
        Binding("pagedown", "cards('page_down')", "Page down", show=False),
        Binding("pageup", "cards('page_up')", "Page up", show=False),
        Binding("enter", "cards('select')", "Open", show=False),
    ]

    def action_cards(self, name: str) -> None:
        screen = self.screen
        column = screen.current_column() if isinstance(screen, DealKanbanScreen) else None
        if column is not None:
            getattr(column.cards, f"action_{name}")()


@dataclass(frozen=True)
class Board:
    columns: list[StageTotals]
    pages: dict[int, list[DealRow]]


def load_board(first_page: int = FIRST_PAGE) -> Board:
    """Stage totals and the first cards of every stage (one thread-worker call)."""
    columns = deals.stage_columns()
    pages = {c.stage.id: deals.list_page(stage_id=c.stage.id, limit=first_page) if c.count else []
             for c in columns}
    return Board(columns, pages)


class DealKanbanScreen(AppBound, Screen[None]):
    """Deals by stage. ``[``/``]`` move the selected deal back/forward, ``enter`` opens its contact."""

    CSS_PATH = "deal_kanban.tcss"
    BINDINGS = [
        Binding("left,h", "column(-1)", "Prev stage", id="kanban.left", show=False),
        Binding("right,l", "column(1)", "Next stage", id="kanban.right", show=False),
        Binding("left_square_bracket,shift+left", "move_deal(-1)", "◀ Move", id="kanban.move-back",
                tooltip="Move the selected deal one stage back"),
        Binding("right_square_bracket,shift+right", "move_deal(1)", "Move ▶", id="kanban.move-forward",
                tooltip="Move the selected deal one stage on (the last step wins it)"),
        Binding("s", "sign_acts", "Acts signed", id="kanban.sign-acts",
                tooltip="Record that the acceptance acts are signed"),
        Binding("x", "lose", "Lost…", id="kanban.lose", tooltip="Close the deal as lost, with a reason"),
        Binding("r", "reload", "Reload", id="kanban.reload", tooltip="Load the board again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded = False
        self.writing = asyncio.Lock()
        self.active: StageColumn | None = None

    def who(self) -> dict[str, Any]:
        """Who acts and when: every rule gets the app's user and clock."""
        return {"by": self.crm.user_id, "now": self.crm.now()}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading the pipeline…", id="board-summary")
        yield KanbanBoard(id="board")
        yield Footer()

    async def on_mount(self) -> None:
        await self.reload()

    async def on_screen_resume(self) -> None:
        if self.loaded and not self.writing.locked():  # not on the way back from this screen's own dialog
            await self.reload()

    # --- loading ----------------------------------------------------------------------------------------

    async def reload(self) -> None:
        focused = self.current_column()
        keep_stage = focused.stage.id if focused else None
        keep_deal = (focused.selected().id if focused and focused.selected() else None) if focused else None
        try:
            board = await db_call(self.crm, load_board)
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        now = self.crm.now()
        container = self.query_one("#board", KanbanBoard)
        await container.remove_children()
        columns = [StageColumn(c.stage, c.count, c.totals) for c in board.columns]
        await container.mount_all(columns)
        self.fit_columns()
        for column in columns:
            column.set_deals(board.pages.get(column.stage.id, []), now)
        self.loaded = True
        self.show_summary()
        target = next((c for c in columns if c.stage.id == keep_stage), None)
        target = target or next((c for c in columns if c.deals), columns[0] if columns else None)
        if target is not None:
            self.focus_column(target)
            if keep_deal is not None:
                for index, deal in enumerate(target.deals):
                    if deal.id == keep_deal:
                        target.cards.highlighted = index

    def columns(self) -> list[StageColumn]:
        return list(self.query(StageColumn))

    def current_column(self) -> StageColumn | None:
        """The column the keys act on (kept here, so quick key presses never race a focus change)."""
        return self.active if self.active is not None and self.active.is_attached else None

    def on_click(self, event: events.Click) -> None:
        node: Widget | None = event.widget
        while node is not None and not isinstance(node, StageColumn):
            node = node.parent if isinstance(node.parent, Widget) else None
        if isinstance(node, StageColumn) and node is not self.current_column():
            self.focus_column(node)

    def show_summary(self) -> None:
        columns = self.columns()
        open_count = sum(c.count for c in columns if c.stage.kind == "open")
        self.query_one("#board-summary", Static).update(
            f"{open_count} open deals · ⚠ idle too long · [ ] move · s acts signed · x lost · enter contact"
        )
        self.fit_columns()

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Share the width among the stages; below 24 cells each, scroll to the focused one instead."""
        columns = self.columns()
        if not columns:
            return
        width = max(MIN_COLUMN, self.query_one("#board", KanbanBoard).size.width // len(columns))
        for column in columns:
            if column.styles.width is None or column.styles.width.value != width:
                column.styles.width = width
                if column.deals and column.now is not None:
                    column.set_deals(column.deals, column.now, keep=True)

    def focus_column(self, column: StageColumn) -> None:
        """Make ``column`` the one the keys act on: a class on it, the focus stays on the board."""
        if self.active is not column:
            if self.active is not None:
                self.active.remove_class("-active")
            self.active = column
        column.add_class("-active")
        board = self.query_one("#board", KanbanBoard)
        if not board.has_focus:
            board.focus()
        board.scroll_to_widget(column, animate=False)
        self.call_later(self.scroll_to_center, column.cards, origin_visible=True)  # as a focus change would

    @on(StageColumn.NeedMore)
    def more_deals(self, event: StageColumn.NeedMore) -> None:
        self.load_more(event.column, event.after_id)

    @work(group="kanban-more")
    async def load_more(self, column: StageColumn, after_id: int) -> None:
        rows = await db_call(self.crm, deals.list_page, stage_id=column.stage.id, after_id=after_id,
                             limit=NEXT_PAGE)
        column.add_page(rows)

    # --- keys -------------------------------------------------------------------------------------------

    def action_column(self, step: int) -> None:
        columns = self.columns()
        current = self.current_column()
        if not columns:
            return
        index = columns.index(current) if current in columns else 0
        row = current.cards.highlighted if current is not None else 0
        target = columns[max(0, min(len(columns) - 1, index + step))]
        self.focus_column(target)
        if target.deals:
            target.cards.highlighted = min(row or 0, len(target.deals) - 1)

    def selected(self) -> tuple[StageColumn, DealRow] | None:
        column = self.current_column()
        deal = column.selected() if column else None
        if column is None or deal is None:
            self.notify("No deal selected", severity="warning")
            return None
        return column, deal

    @work(group="kanban-move")
    async def action_move_deal(self, step: int) -> None:
        async with self.writing:  # quick presses run one after another
            await self.move_deal(step)

    async def move_deal(self, step: int) -> None:
        picked = self.selected()
        if picked is None:
            return
        column, deal = picked
        try:
            moved = await db_call(self.crm, deals.step, deal.id, step, **self.who())
        except RuleViolation as error:
            if step > 0 and deal.acts_signed_at is None and self.next_is_won(column):
                moved = await self.sign_and_win(deal, error)
                if moved is None:
                    return
            else:
                self.notify(error.message, title=error.title, severity="error")
                return
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        self.moved(column, moved)

    def next_is_won(self, column: StageColumn) -> bool:
        columns = self.columns()
        later = columns[columns.index(column) + 1:]
        return bool(later) and column.stage.kind == "open" and later[0].stage.kind != "open"

    async def sign_and_win(self, deal: DealRow, refusal: CrmError) -> DealRow | None:
        """Won needs signed acts: offer to record them now; a "no" leaves the deal where it is."""
        sign = await self.app.push_screen_wait(
            QuestionDialog(refusal.title, f"{refusal.message}.\n\nAre the acts of “{deal.title}” signed now?",
                           yes="Sign and win", no="Not yet")
        )
        if not sign:
            self.notify(refusal.message, title=refusal.title, severity="error")
            return None
        try:
            await db_call(self.crm, deals.sign_acts, deal.id, by=self.crm.user_id, now=self.crm.now())
            return await db_call(self.crm, deals.win, deal.id, by=self.crm.user_id, now=self.crm.now())
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return None

    def moved(self, source: StageColumn, deal: DealRow) -> None:
        """Take the card out of its column and put it on top of the new one; the cursor follows it."""
        index = source.take(deal.id)
        if index is not None and source.deals:
            source.cards.highlighted = min(index, len(source.deals) - 1)
        target = next((c for c in self.columns() if c.stage.id == deal.stage_id), None)
        if target is not None:
            target.put(deal, self.crm.now())
            self.focus_column(target)
        self.show_summary()
        self.notify(f"{deal.title} → {deal.stage_name}")

    @work(group="kanban-move")
    async def action_sign_acts(self) -> None:
        async with self.writing:
            await self.sign_acts()

    async def sign_acts(self) -> None:
        picked = self.selected()
        if picked is None:
            return
        column, deal = picked
        try:
            signed = await db_call(self.crm, deals.sign_acts, deal.id, **self.who())
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        column.replace(signed)
        self.notify(f"Acts signed: {deal.title}")

    @work(group="kanban-move")
    async def action_lose(self) -> None:
        async with self.writing:
            await self.lose()

    async def lose(self) -> None:
        picked = self.selected()
        if picked is None:
            return
        column, deal = picked
        if column.stage.kind != "open":
            self.notify(f"{deal.title} is already {column.stage.kind}", severity="error")
            return
        reason = await self.app.push_screen_wait(ReasonForm(f"Why was “{deal.title}” lost?"))
        if reason is None:
            return
        try:
            lost = await db_call(self.crm, deals.lose, deal.id, reason, **self.who())
        except NeedsReason as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        self.moved(column, lost)

    async def action_reload(self) -> None:
        await self.reload()

    @on(StageColumn.Picked)
    async def open_contact(self, event: StageColumn.Picked) -> None:
        if event.deal.contact_id is None:
            self.notify("This deal has no contact", severity="warning")
            return
        opener = getattr(self.app, "open_contact", None)
        if callable(opener):
            result = opener(event.deal.contact_id)
            if hasattr(result, "__await__"):
                await result
            return
        from crm_tui.screens.contact_card import ContactCardScreen

        await self.app.push_screen(ContactCardScreen(event.deal.contact_id))
