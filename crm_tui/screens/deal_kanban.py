"""The deal kanban (mode ``2``): one column per stage, cards that move through the sales process.

Every move goes through ``deals.step`` / ``deals.move`` / ``deals.lose``, the rules the CLI uses: a
refusal is shown with its reason and nothing changes. Columns load a page of cards and more as the
cursor nears the end; the headers count and sum from ``deals.stage_columns()`` (the stage totals the
database keeps).

A key answers in one frame where it can: the active column is a CSS class that changes colours only,
a moved card leaves one list and joins another, and the line above the board says what happened.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Static

from crm_tui.screens.dialogs.deal_form import DealFormDialog
from crm_tui.screens.dialogs.note import QuestionDialog, ReasonForm
from crm_tui.services import deals
from crm_tui.services.errors import CrmError, InvalidInput, NeedsReason, NotFound, RuleViolation
from crm_tui.services.views import DealRow
from crm_tui.services.views import StageColumn as StageTotals
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.scroll_bars import settle_scroll_bar
from crm_tui.widgets.stage_column import StageColumn

FIRST_PAGE = 15
NEXT_PAGE = 30
MIN_COLUMN = 24

# What the deal rules say (services/deals.py), as i18n keys: the English text is the rule's own message,
# other languages word it themselves. A message not listed here is shown as the rule wrote it.
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (
            r"Deal #(?P<deal>\d+) is already (?P<kind>\w+); a closed deal does not move",
            "kanban.refused.closed",
        ),
        (r"Deal #(?P<deal>\d+) is already at (?P<stage>.+)", "kanban.refused.same-stage"),
        (r"Deal #(?P<deal>\d+) is already (?P<kind>\w+)", "kanban.refused.already"),
        (r"Acts not signed: .*", "kanban.refused.acts"),
        (r"A deal is won from '(?P<stage>.+)'; move it through the stages first", "kanban.refused.won-from"),
        (r"A lost deal needs a reason", "kanban.refused.needs-reason"),
        (r"(?P<stage>.+) is the first stage", "kanban.refused.first-stage"),
        (r"The pipeline has no Won stage", "kanban.refused.no-won"),
        (r"The pipeline has no Lost stage", "kanban.refused.no-lost"),
        (r"Acts of deal #(?P<deal>\d+) were already signed on (?P<date>\S+)", "kanban.refused.signed-before"),
        (r"No deal #(?P<deal>\d+)", "kanban.refused.no-deal"),
    )
)
ERROR_TITLES: tuple[tuple[type[CrmError], str], ...] = (
    (NeedsReason, "kanban.error.reason"),  # before RuleViolation, its parent
    (RuleViolation, "kanban.error.rule"),
    (NotFound, "kanban.error.not-found"),
    (InvalidInput, "kanban.error.invalid"),
    (CrmError, "kanban.error"),
)


class KanbanBoard(AppBound, HorizontalScroll, can_focus=True, inherit_bindings=False):
    """The row of columns. It holds the focus for the whole board and sends the cursor keys to the
    active column's cards (``j``/``k`` move like the arrows)."""

    BINDINGS = [
        Binding(
            "down,j",
            "cards('cursor_down')",
            "Down",
            show=False,
            id="kanban.down",
            tooltip="Next card in the stage",
        ),
        Binding(
            "up,k",
            "cards('cursor_up')",
            "Up",
            show=False,
            id="kanban.up",
            tooltip="Previous card in the stage",
        ),
        Binding(
            "home",
            "cards('first')",
            "First",
            show=False,
            id="kanban.first",
            tooltip="First card in the stage",
        ),
        Binding(
            "end",
            "cards('last')",
            "Last",
            show=False,
            id="kanban.last",
            tooltip="Last card in the stage (loads the rest)",
        ),
        Binding(
            "pagedown",
            "cards('page_down')",
            "Page down",
            show=False,
            id="kanban.page-down",
            tooltip="A page of cards down",
        ),
        Binding(
            "pageup",
            "cards('page_up')",
            "Page up",
            show=False,
            id="kanban.page-up",
            tooltip="A page of cards up",
        ),
        Binding(
            "enter",
            "cards('select')",
            "Open",
            show=False,
            id="kanban.open",
            tooltip="Open the deal's contact card",
        ),
    ]

    def on_mount(self) -> None:
        settle_scroll_bar(self, vertical=False, shown=self.styles.overflow_x == "scroll")

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
    pages = {
        c.stage.id: deals.list_page(stage_id=c.stage.id, limit=first_page) if c.count else [] for c in columns
    }
    return Board(columns, pages)


class DealKanbanScreen(AppBound, Screen[None]):
    """Deals by stage. ``[``/``]`` move the selected deal back/forward, ``enter`` opens its contact, ``e``
    edits it and ``n`` adds a deal at the stage the cursor is on."""

    CSS_PATH = "deal_kanban.tcss"
    BINDINGS = [
        Binding(
            "left,h", "column(-1)", "Prev stage", id="kanban.left", show=False, tooltip="The previous stage"
        ),
        Binding(
            "right,l", "column(1)", "Next stage", id="kanban.right", show=False, tooltip="The next stage"
        ),
        Binding(
            "left_square_bracket,shift+left",
            "move_deal(-1)",
            "◀ Move",
            id="kanban.move-back",
            tooltip="Move the selected deal one stage back",
        ),
        Binding(
            "right_square_bracket,shift+right",
            "move_deal(1)",
            "Move ▶",
            id="kanban.move-forward",
            tooltip="Move the selected deal one stage on (the last step wins it)",
        ),
        Binding(
            "s",
            "sign_acts",
            "Acts signed",
            id="kanban.sign-acts",
            tooltip="Record that the acceptance acts are signed",
        ),
        Binding("x", "lose", "Lost…", id="kanban.lose", tooltip="Close the deal as lost, with a reason"),
        Binding(
            "e",
            "edit_deal",
            "Edit",
            id="kanban.edit",
            tooltip="Edit the deal: title, amount, currency, close date, owner, contact",
        ),
        Binding(
            "n", "new_deal", "New deal", id="kanban.new", tooltip="A new deal at the stage the cursor is on"
        ),
        Binding("r", "reload", "Reload", id="kanban.reload", tooltip="Load the board again"),
    ]

    def __init__(self, board: Board | None = None) -> None:
        """``board``, when given, is drawn with the screen's first layout (the app reads it before the
        kanban's first opening: ``READ_FIRST``); without it, the screen loads the board once shown."""
        super().__init__()
        self.writing = asyncio.Lock()
        self.active: StageColumn | None = None
        self.first_board = board
        self.stale = True
        """Read the board when shown: nothing read yet, or another screen was shown since. Textual resumes
        a mode's new screen twice; the second resume finds the board fresh and reads nothing."""

    def who(self) -> dict[str, Any]:
        """Who acts and when: every rule gets the app's user and clock."""
        return {"by": self.crm.user_id, "now": self.crm.now()}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.crm.t("kanban.loading"), id="board-summary")
        board = self.first_board
        with KanbanBoard(id="board") as container:
            if board is not None:
                width = self.column_width(len(board.columns))
                self.fit_scroll_bar(container, len(board.columns), width)
                yield from self.build_columns(board, self.target_stage(board), width)
        yield KeyFooter()

    async def on_screen_resume(self) -> None:
        """Load the board when the screen is first shown and whenever it is shown again (the deals may have
        moved meanwhile), but not on the way back from this screen's own dialog. Textual resumes a screen
        right after mounting it, so this is the only load: loading on mount as well read the board twice.
        A board handed to the screen is already drawn: the first resume only puts the keys on it."""
        if self.first_board is not None:
            board, self.first_board = self.first_board, None
            self.stale = False
            self.show_summary()
            target = self.target_stage(board)
            column = next((c for c in self.columns() if c.stage.id == target), None)
            if column is not None:
                self.focus_column(column)
        elif self.stale and not self.writing.locked():
            await self.reload()

    def on_screen_suspend(self) -> None:
        self.stale = True  # another screen is in front: deals may move meanwhile

    # --- words ------------------------------------------------------------------------------------------

    def say(self, key: str, **values: object) -> str:
        """The i18n text ``key`` in the desk's language, with ``{name}`` fields filled."""
        return self.crm.t(key).format(**values)

    def stage_title(self, english: str) -> str:
        """A stage named by a rule (in English) as the board names it."""
        for column in self.columns():
            if column.stage.name == english:
                return column.title
        return english

    def refusal(self, error: CrmError) -> tuple[str, str]:
        """A rule's refusal as (message, title) in the desk's language."""
        title_key = next(key for kind, key in ERROR_TITLES if isinstance(error, kind))
        title = error.title if self.crm.lang == "en" else self.crm.t(title_key)
        if self.crm.lang == "en":
            return error.message, title
        for pattern, key in REFUSALS:
            found = pattern.fullmatch(error.message)
            if found is not None:
                values = found.groupdict()
                if "kind" in values:
                    values["kind"] = self.crm.t(f"kanban.kind.{values['kind']}")
                if "stage" in values:
                    values["stage"] = self.stage_title(values["stage"])
                return self.say(key, **values), title
        return error.message, title

    def refused(self, error: CrmError) -> None:
        message, title = self.refusal(error)
        self.notify(message, title=title, severity="error")

    # --- loading ----------------------------------------------------------------------------------------

    async def reload(self) -> None:
        self.stale = False
        focused = self.current_column()
        keep_stage = focused.stage.id if focused else None
        keep = focused.selected() if focused else None
        try:
            board = await self.crm.run_db(load_board)
        except CrmError as error:
            self.refused(error)
            return
        now = self.crm.now()
        container = self.query_one("#board", KanbanBoard)
        stages = [c.stage for c in board.columns]
        known = self.columns()
        target_id = self.target_stage(board, keep_stage)
        if [c.stage for c in known] == stages:
            # The same stages (back on the board, or `r`): refill the columns in place.
            with self.app.batch_update():
                for column, totals in zip(known, board.columns, strict=True):
                    column.reset(totals.count, totals.totals, board.pages.get(totals.stage.id, []), now)
            columns = known
        else:
            width = self.column_width(len(stages))
            columns = self.build_columns(board, target_id, width)
            self.fit_scroll_bar(container, len(columns), width)
            with self.app.batch_update():  # one frame: the old columns out, the new ones in
                await container.remove_children()
                await container.mount_all(columns)
        self.show_summary()
        target = next((c for c in columns if c.stage.id == target_id), None)
        if target is not None:
            self.focus_column(target)
            if keep is not None and target.stage.id == keep_stage:
                for index, deal in enumerate(target.deals):
                    if deal.id == keep.id:
                        target.cards.move_to(index)

    def target_stage(self, board: Board, keep: int | None = None) -> int | None:
        """The stage the keys start on: ``keep`` while the board still has it, else the first with deals."""
        stages = [c.stage.id for c in board.columns]
        if keep in stages:
            return keep
        return next((stage for stage in stages if board.pages.get(stage)), stages[0] if stages else None)

    def build_columns(self, board: Board, active: int | None, width: int) -> list[StageColumn]:
        """A column per stage, built whole (cards, width, look) before it is mounted."""
        now = self.crm.now()
        return [
            StageColumn(
                c.stage,
                c.count,
                c.totals,
                deals=board.pages.get(c.stage.id, []),
                now=now,
                width=width,
                active=c.stage.id == active,
            )
            for c in board.columns
        ]

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

    def show_summary(self, news: str = "") -> None:
        """The line above the board: what just happened (a move, signed acts), the open deals, the keys."""
        columns = self.columns()
        open_count = sum(c.count for c in columns if c.stage.kind == "open")
        hint = self.say("kanban.summary", open=open_count)
        self.query_one("#board-summary", Static).update(
            Content(f"{news} · {hint}" if news else hint),
            layout=False,  # plain text; one line, always
        )
        self.fit_columns()

    def on_resize(self) -> None:
        self.fit_columns()

    def board_width(self) -> int:
        """The board's width; before its first layout, the app's (the board spans the screen)."""
        boards = self.query(KanbanBoard)
        return (boards.first().size.width if boards else 0) or self.app.size.width

    def column_width(self, count: int) -> int:
        """Each stage's share of the board's width, but no narrower than 24 cells."""
        return max(MIN_COLUMN, self.board_width() // max(1, count))

    def fit_scroll_bar(self, board: KanbanBoard, count: int, width: int) -> None:
        """Show the board's scroll bar from the start when the columns are wider than the board, and none
        when they fit (``widgets/scroll_bars.py``)."""
        settle_scroll_bar(board, vertical=False, shown=count * width > self.board_width())

    def fit_columns(self) -> None:
        """Share the width among the stages; below 24 cells each, scroll to the focused one instead."""
        columns = self.columns()
        if not columns:
            return
        width = self.column_width(len(columns))
        self.fit_scroll_bar(self.query_one("#board", KanbanBoard), len(columns), width)
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
        rows = await self.crm.run_db(
            deals.list_page, stage_id=column.stage.id, after_id=after_id, limit=NEXT_PAGE
        )
        column.add_page(rows, after_id)

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
            target.cards.move_to(row or 0)

    def selected(self) -> tuple[StageColumn, DealRow] | None:
        column = self.current_column()
        deal = column.selected() if column else None
        if column is None or deal is None:
            self.notify(self.crm.t("kanban.no-deal"), severity="warning")
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
        moved: DealRow | None
        try:
            moved = await self.crm.run_db(deals.step, deal.id, step, **self.who())
        except RuleViolation as error:
            if not (step > 0 and deal.acts_signed_at is None and self.next_is_won(column)):
                self.refused(error)
                return
            moved = await self.sign_and_win(deal, error)
        except CrmError as error:
            self.refused(error)
            return
        if moved is not None:
            self.moved(column, moved)

    def next_is_won(self, column: StageColumn) -> bool:
        columns = self.columns()
        later = columns[columns.index(column) + 1 :]
        return bool(later) and column.stage.kind == "open" and later[0].stage.kind != "open"

    async def sign_and_win(self, deal: DealRow, refusal: CrmError) -> DealRow | None:
        """Won needs signed acts: offer to record them now; a "no" leaves the deal where it is."""
        reason, title = self.refusal(refusal)
        question = self.say("kanban.sign-question", reason=reason, title=deal.title)
        sign = await self.app.push_screen_wait(
            QuestionDialog(
                title, question, yes=self.crm.t("kanban.sign-and-win"), no=self.crm.t("kanban.not-yet")
            )
        )
        if not sign:
            self.refused(refusal)
            return None
        try:
            await self.crm.run_db(deals.sign_acts, deal.id, **self.who())
            return await self.crm.run_db(deals.win, deal.id, **self.who())
        except CrmError as error:
            self.refused(error)
            return None

    def moved(self, source: StageColumn, deal: DealRow) -> None:
        """Take the card out of its column and put it on top of the new one; the cursor follows it."""
        source.take(deal.id)  # the cursor stays where the card was
        target = next((c for c in self.columns() if c.stage.id == deal.stage_id), None)
        if target is not None:
            target.put(deal, self.crm.now())
        # Said on the line above the board rather than in a toast: a toast is two more layouts of the screen.
        stage = target.title if target is not None else deal.stage_title(self.crm.lang)
        self.show_summary(self.say("kanban.moved", title=deal.title, stage=stage))
        if target is not None:
            self.focus_column(target)

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
            signed = await self.crm.run_db(deals.sign_acts, deal.id, **self.who())
        except CrmError as error:
            self.refused(error)
            return
        column.replace(signed)
        self.show_summary(self.say("kanban.acts-signed", title=deal.title))

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
            kind = self.crm.t(f"kanban.kind.{column.stage.kind}")
            self.notify(self.say("kanban.already-closed", title=deal.title, kind=kind), severity="error")
            return
        reason = await self.app.push_screen_wait(ReasonForm(self.say("kanban.lost-why", title=deal.title)))
        if reason is None:
            return
        try:
            lost = await self.crm.run_db(deals.lose, deal.id, reason, **self.who())
        except CrmError as error:
            self.refused(error)
            return
        self.moved(column, lost)

    async def action_reload(self) -> None:
        await self.reload()

    @work(group="kanban-move")
    async def action_edit_deal(self) -> None:
        async with self.writing:  # the board is read once, here, not again as the dialog closes
            await self.edit_deal()

    async def edit_deal(self) -> None:
        """The deal form on the selected card; the board (its totals) is read again once it is saved."""
        picked = self.selected()
        if picked is None:
            return
        _column, deal = picked
        saved = await self.app.push_screen_wait(DealFormDialog(deal))
        if saved is not None:
            await self.reload()
            self.show_summary(self.say("deal-form.saved", title=saved.title, amount=saved.money))

    @work(group="kanban-move")
    async def action_new_deal(self) -> None:
        async with self.writing:
            await self.new_deal()

    async def new_deal(self) -> None:
        """The deal form for a new deal at the stage the cursor is on (an open one)."""
        column = self.current_column()
        if column is None:
            return
        if column.stage.kind != "open":  # on Won or Lost: a new deal opens where a hand-made one does
            added = await self.app.push_screen_wait(DealFormDialog())
        else:
            added = await self.app.push_screen_wait(DealFormDialog(stage=column.stage))
        if added is not None:
            await self.reload()
            target = next((c for c in self.columns() if c.stage.id == added.stage_id), None)
            if target is not None:
                self.focus_column(target)
                for index, row in enumerate(target.deals):
                    if row.id == added.id:
                        target.cards.move_to(index)
            self.show_summary(self.say("deal-form.added", title=added.title, amount=added.money))

    @on(StageColumn.Picked)
    async def open_contact(self, event: StageColumn.Picked) -> None:
        if event.deal.contact_id is None:
            self.notify(self.crm.t("kanban.no-contact"), severity="warning")
            return
        opener = getattr(self.app, "open_contact", None)
        if callable(opener):
            result = opener(event.deal.contact_id)
            if hasattr(result, "__await__"):
                await result
            return
        from crm_tui.screens.contact_card import ContactCardScreen

        await self.app.push_screen(ContactCardScreen(event.deal.contact_id))
