"""One stage of the kanban: a header with the count and total, and its deals loaded a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.css.scalar import Unit
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.services.views import DealRow, StageView, format_money
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.deal_card import DEFAULT_WIDTH, deal_card

MORE_AHEAD = 5  # ask for the next page when the cursor is this close to the last loaded card
SAME_DAYS_FOR = timedelta(minutes=1)  # a reload within this leaves an unchanged column as it is drawn


def totals_text(totals: dict[str, int]) -> str:
    if not totals:
        return format_money(0)
    return " + ".join(format_money(amount, currency) for currency, amount in sorted(totals.items()))


def stage_name(stage: StageView, lang: str) -> str:
    """The stage as the desk's language names it (``Stage.name_ru`` in Russian, when it has one)."""
    return stage.name_ru if lang == "ru" and stage.name_ru else stage.name


class DealList(OptionList, can_focus=False):
    """The cards of one column. It never takes the focus: the board keeps it and sends the keys to the
    active column, so moving between columns changes a CSS class instead of the focused widget (a focus
    change rebuilds the footer's key list).

    Its size comes from the column (``height: 1fr``), never from its cards, so a card more or less needs
    no layout of the screen: ``virtual_size`` (the cards' height) is declared without ``layout=True``.
    Textual's own declaration lays out the whole screen on every change, then repaints every list's
    scroll bar in a frame of its own. The scroll bar still appears or goes with a layout, as Textual's
    ``show_vertical_scrollbar`` asks for one."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)


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
        height: 1fr;
        border: blank;
        padding: 0;
        background: transparent;
        scrollbar-size-vertical: 1;
    }
    StageColumn > DealList > .option-list--option {
        padding: 0 1;
    }
    StageColumn.-active > DealList {
        border: tall $border;
        background-tint: $foreground 5%;
    }
    StageColumn.-active > DealList > .option-list--option-highlighted {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
        text-style: $block-cursor-text-style;
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
        self.now: datetime | None = now
        if width is not None:
            self.styles.width = width
        self.set_class(stage.kind != "open", "-closed")
        self.set_class(active, "-active")

    def compose(self) -> ComposeResult:
        yield Static(self.header_text(), classes="stage-header")
        yield DealList(*(self.option(d) for d in self.deals), id=f"deals-{self.stage.id}")

    @property
    def cards(self) -> DealList:
        return self.query_one(DealList)

    @property
    def has_more(self) -> bool:
        return len(self.deals) < self.count

    @property
    def title(self) -> str:
        return stage_name(self.stage, self.crm.lang)

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

    def option(self, deal: DealRow) -> Option:
        assert self.now is not None
        card = deal_card(deal, self.now, self.stage.stale_days, self.card_width(), self.crm.t("kanban.days"))
        return Option(card, id=f"deal-{deal.id}")

    def set_deals(self, deals: Sequence[DealRow], now: datetime, *, keep: bool = False) -> None:
        at = self.cards.highlighted if keep else None
        self.now = now
        self.deals = list(deals)
        self.cards.set_options([self.option(d) for d in self.deals])
        if self.deals:
            self.cards.highlighted = min(at or 0, len(self.deals) - 1)

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
        self.set_deals(deals, now)
        self.refresh_header()

    def add_page(self, deals: list[DealRow]) -> None:
        self.loading_more = False
        known = {d.id for d in self.deals}
        fresh = [d for d in deals if d.id not in known]
        if not fresh:
            self.count = len(self.deals)  # the stage shrank under us: stop asking
            return
        self.deals.extend(fresh)
        self.cards.add_options([self.option(d) for d in fresh])

    def selected(self) -> DealRow | None:
        index = self.cards.highlighted
        if index is None or not (0 <= index < len(self.deals)):
            return None
        return self.deals[index]

    def take(self, deal_id: int) -> int | None:
        """Remove a deal that left the stage; returns where it was."""
        for index, deal in enumerate(self.deals):
            if deal.id == deal_id:
                del self.deals[index]
                self.cards.remove_option_at_index(index)
                self.cards.scroll_to_highlight()  # measures the list now, not in the next frame's render
                self.count -= 1
                self.totals[deal.currency] = self.totals.get(deal.currency, 0) - deal.amount
                self.refresh_header()
                return index
        return None

    def put(self, deal: DealRow, now: datetime) -> None:
        """A deal arrived: on top of the column, highlighted.

        OptionList only appends, so the list is set again, but from the options it already holds: their
        cards are not built again, only the new one is."""
        self.now = now
        self.deals.insert(0, deal)
        self.count += 1
        self.totals[deal.currency] = self.totals.get(deal.currency, 0) + deal.amount
        self.cards.set_options([self.option(deal), *self.cards.options])
        self.cards.highlighted = 0
        self.refresh_header()

    def replace(self, deal: DealRow) -> None:
        for index, known in enumerate(self.deals):
            if known.id == deal.id:
                self.deals[index] = deal
                self.cards.replace_option_prompt_at_index(
                    index, deal_card(deal, self.now or deal.stage_entered_at, self.stage.stale_days,
                                     self.card_width(), self.crm.t("kanban.days"))
                )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.maybe_more()

    def maybe_more(self) -> None:
        index = self.cards.highlighted or 0
        if self.has_more and not self.loading_more and self.deals and index >= len(self.deals) - MORE_AHEAD:
            self.loading_more = True
            self.post_message(self.NeedMore(self, self.stage.id, self.deals[-1].id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        deal = self.selected()
        if deal is not None:
            self.post_message(self.Picked(self, deal))
