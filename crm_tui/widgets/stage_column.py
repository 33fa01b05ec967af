"""One stage of the kanban: a header with the count and total, and its deals loaded a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.css.scalar import Unit
from textual.message import Message
from textual.widgets import Static

from crm_tui.services.views import DealRow, StageView, format_money
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.deal_card import DEFAULT_WIDTH, Card, deal_card
from crm_tui.widgets.deal_list import DealList

MORE_AHEAD = 5  # ask for the next page when the cursor is this close to the last loaded card
SAME_DAYS_FOR = timedelta(minutes=1)  # a reload within this leaves an unchanged column as it is drawn


def totals_text(totals: dict[str, int]) -> str:
    if not totals:
        return format_money(0)
    return " + ".join(format_money(amount, currency) for currency, amount in sorted(totals.items()))


class StageColumn(AppBound, Vertical):
    """A stage: ``count · total`` in the header; cards appended page by page (keyset on the deal id).

    The active column differs from the others in colours only: its list's border is as wide as theirs
    (``blank`` there, ``tall`` here), so moving between columns repaints two columns and lays out nothing.
    """

    DEFAULT_CSS = """
    StageColumn {
        width: 30;
        height: 1fr;
        border-right: vkey $panel;
    }
    StageColumn > .stage-header {
        height: 2;
        padding: 0 1;
        background: $panel;
        color: $text;
        text-wrap: nowrap;  /* a long stage name must not push the count out of the header */
        text-overflow: ellipsis;
    }
    StageColumn.-active > .stage-header {
        background: $primary 40%;
        text-style: bold;
    }
    StageColumn > DealList {
        border: blank;
    }
    StageColumn.-active > DealList {
        border: tall $border;
        background-tint: $foreground 5%;
    }
    StageColumn.-closed > .stage-header {
        color: $text-muted;
    }
    """

    @dataclass
    class NeedMore(Message):
        """The cursor is near the last loaded card and the stage has more."""

        column: StageColumn
        stage_id: int
        after_id: int

    @dataclass
    class Picked(Message):
        """Enter on a card."""

        column: StageColumn
        deal: DealRow

    def __init__(
        self,
        stage: StageView,
        count: int,
        totals: dict[str, int],
        *,
        deals: Sequence[DealRow] = (),
        now: datetime | None = None,
        width: int | None = None,
        active: bool = False,
    ) -> None:
        """A column built whole: its first cards, width and look are set before it is mounted, so the
        board appears in one layout."""
        super().__init__(id=f"stage-{stage.id}")
        self.stage = stage
        self.count = count
        self.totals = dict(totals)
        self.deals: list[DealRow] = list(deals)
        self.loading_more = False
        self.asked_after: int | None = None
        """The card after which a page is on its way (``NeedMore``), until it arrives or the column is
        refilled."""
        self.now: datetime | None = now
        if width is not None:
            self.styles.width = width
        self.set_class(stage.kind != "open", "-closed")
        self.set_class(active, "-active")

    def compose(self) -> ComposeResult:
        yield Static(self.header_text(), classes="stage-header")
        yield DealList([self.card(d) for d in self.deals], total=self.count, dom_id=f"deals-{self.stage.id}")

    @property
    def cards(self) -> DealList:
        return self.query_one(DealList)

    @property
    def has_more(self) -> bool:
        return len(self.deals) < self.count

    @property
    def title(self) -> str:
        return self.stage.title(self.crm.lang)

    def header_text(self) -> Content:
        return Content.assemble(
            (self.title, "bold"), "\n", (f"{self.count} · {totals_text(self.totals)}", "$text-muted")
        )

    def refresh_header(self) -> None:
        self.query_one(".stage-header", Static).update(self.header_text(), layout=False)  # fixed size

    def card_width(self) -> int:
        """The card's text width: the column less its right border (1), the list's border (2), the
        scrollbar (1) and the card's padding (2). Wider, each of the card's lines would wrap in two."""
        width = self.styles.width
        if width is None or width.unit != Unit.CELLS:
            return DEFAULT_WIDTH
        return max(12, int(width.value) - 6)

    def card(self, deal: DealRow) -> Card:
        now = self.now or deal.stage_entered_at
        return deal_card(deal, now, self.stage.stale_days, self.card_width(), self.crm.t("kanban.days"))

    def set_deals(self, deals: Sequence[DealRow], now: datetime, *, keep: bool = False) -> None:
        at = self.cards.highlighted if keep else None
        self.now = now
        self.deals = list(deals)
        self.cards.set_cards([self.card(d) for d in self.deals], self.count, at)

    def reset(self, count: int, totals: dict[str, int], deals: Sequence[DealRow], now: datetime) -> None:
        """Show the stage afresh (a reload) in the widgets it already has. A stage that has not changed
        since it was drawn (the same count, totals and cards, drawn less than a minute ago, so the days
        on the cards still hold) is left as it is, cursor and all."""
        fresh = list(deals)
        if (
            count == self.count
            and totals == self.totals
            and fresh == self.deals
            and self.now is not None
            and timedelta(0) <= now - self.now < SAME_DAYS_FOR
        ):
            return
        self.count = count
        self.totals = dict(totals)
        self.loading_more = False
        self.asked_after = None
        self.set_deals(deals, now)
        self.refresh_header()

    def add_page(self, deals: list[DealRow], after_id: int) -> None:
        """The page read after the card ``after_id``; dropped when the column was refilled since it was
        asked for (``r``, coming back): appended to the new cards it would skip the deals between."""
        if after_id != self.asked_after:
            return
        self.loading_more = False
        self.asked_after = None
        known = {d.id for d in self.deals}
        fresh = [d for d in deals if d.id not in known]
        if not fresh:
            self.count = len(self.deals)  # the stage shrank under us: stop asking
            self.cards.total = self.count
            self.refresh_header()
            return
        self.deals.extend(fresh)
        self.cards.add_cards([self.card(d) for d in fresh])

    def selected(self) -> DealRow | None:
        index = self.cards.highlighted
        if index is None or not (0 <= index < len(self.deals)):
            return None
        return self.deals[index]

    def take(self, deal_id: int) -> None:
        """Remove a deal that left the stage; the cursor stays at its place."""
        for index, deal in enumerate(self.deals):
            if deal.id == deal_id:
                del self.deals[index]
                self.count -= 1
                self.cards.remove_at(index, self.count)
                self.totals[deal.currency] = self.totals.get(deal.currency, 0) - deal.amount
                self.refresh_header()
                return

    def put(self, deal: DealRow, now: datetime) -> None:
        """A deal arrived: on top of the column, highlighted."""
        self.now = now
        self.deals.insert(0, deal)
        self.count += 1
        self.totals[deal.currency] = self.totals.get(deal.currency, 0) + deal.amount
        self.cards.insert_first(self.card(deal), self.count)
        self.refresh_header()

    def replace(self, deal: DealRow) -> None:
        for index, known in enumerate(self.deals):
            if known.id == deal.id:
                self.deals[index] = deal
                self.cards.replace_at(index, self.card(deal))

    def on_deal_list_highlighted(self, event: DealList.Highlighted) -> None:
        event.stop()
        self.maybe_more(event.index)

    def maybe_more(self, index: int) -> None:
        """Ask for the next page when ``index`` (the cursor, or the last card the wheel shows) nears the
        end of what is loaded."""
        if self.has_more and not self.loading_more and self.deals and index >= len(self.deals) - MORE_AHEAD:
            self.loading_more = True
            self.asked_after = self.deals[-1].id
            self.post_message(self.NeedMore(self, self.stage.id, self.deals[-1].id))

    def on_deal_list_selected(self, event: DealList.Selected) -> None:
        event.stop()
        if 0 <= event.index < len(self.deals):
            self.post_message(self.Picked(self, self.deals[event.index]))
