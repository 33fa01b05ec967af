"""The cards of one kanban column, drawn line by line from the cards in memory.

A board shows eight of these at once, so each must cost little to draw and nothing to lay out. The list
draws only the cards in view, each line from a few segments styled by its component classes; its size
comes from the column, never from its cards; and its scroll bar is one column of its own drawing,
always reserved, so a card more or less changes no layout. Cards scroll by whole cards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from crm_tui.widgets.deal_card import Card

CARD_HEIGHT = 3


class DealList(Widget, can_focus=False):
    """Cards of three lines; one of them highlighted (the cursor), drawn as the block cursor while the
    column is active (``-active`` on the parent) and as the blurred one otherwise.

    It never takes the focus: the board keeps it and sends the keys here (``action_cursor_down`` and so
    on). A click highlights a card, a double click opens it; the wheel scrolls."""

    COMPONENT_CLASSES = {
        "deal-list--title",
        "deal-list--text",
        "deal-list--muted",
        "deal-list--stale",
        "deal-list--cursor",
        "deal-list--cursor-blurred",
        "deal-list--track",
        "deal-list--thumb",
    }
    DEFAULT_CSS = """
    DealList {
        height: 1fr;
        & > .deal-list--title { text-style: bold; }
        & > .deal-list--muted { color: $text-muted; }
        & > .deal-list--stale { color: $warning; text-style: bold; }
        & > .deal-list--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        & > .deal-list--cursor-blurred {  /* where the cursor lands in a stage the keys are not on */
            background: $foreground 10%;
        }
        & > .deal-list--track { background: $scrollbar-background; }
        & > .deal-list--thumb { background: $scrollbar; }
    }
    """

    @dataclass
    class Highlighted(Message):
        """The cursor moved, or the view scrolled: ``index`` is the furthest card it reaches."""

        deal_list: DealList
        index: int

    @dataclass
    class Selected(Message):
        """Enter (or a double click) on the card at ``index``."""

        deal_list: DealList
        index: int

    def __init__(
        self, cards: Sequence[Card] = (), *, total: int | None = None, dom_id: str | None = None
    ) -> None:
        super().__init__(id=dom_id)
        self.cards: list[Card] = list(cards)
        self.total = len(self.cards) if total is None else total  # the stage's count, for the scroll bar
        self.highlighted: int | None = 0 if self.cards else None
        self.top = 0  # the first card in view
        self.styles_for: dict[str, Style] = {}
        """Rich styles by role (``""`` the list's own), as the CSS now says; emptied when it changes."""

    # --- what it holds ----------------------------------------------------------------------------------

    def set_cards(self, cards: Sequence[Card], total: int, highlighted: int | None = None) -> None:
        self.cards = list(cards)
        self.total = total
        self.highlighted = None if not self.cards else max(0, min(highlighted or 0, len(self.cards) - 1))
        self.show_cursor()

    def add_cards(self, cards: Sequence[Card]) -> None:
        if self.highlighted is None and cards:
            self.highlighted = 0
        self.cards.extend(cards)
        self.refresh()

    def insert_first(self, card: Card, total: int) -> None:
        """A card on top, highlighted."""
        self.cards.insert(0, card)
        self.total = total
        self.move_to(0)

    def remove_at(self, index: int, total: int) -> None:
        """Take the card at ``index`` out; the cursor stays at that place (the card below moves up)."""
        del self.cards[index]
        self.total = total
        if not self.cards:
            self.highlighted = None
            self.show_cursor()
        else:  # the card below takes its place; near the end of what is loaded, the next page is asked for
            self.move_to(min(self.highlighted or 0, len(self.cards) - 1))

    def replace_at(self, index: int, card: Card) -> None:
        self.cards[index] = card
        self.refresh()

    # --- the view ---------------------------------------------------------------------------------------

    @property
    def in_view(self) -> int:
        """How many cards the list shows at once (at least one)."""
        return max(1, self.size.height // CARD_HEIGHT)

    @property
    def has_scroll_bar(self) -> bool:
        """More cards in the stage than fit: the right-hand column is a scroll bar."""
        return self.total > self.in_view

    def clamp_top(self) -> None:
        self.top = max(0, min(self.top, len(self.cards) - self.in_view))

    def show_cursor(self) -> None:
        """Scroll so the highlighted card is in view, and draw again."""
        at = self.highlighted
        if at is not None and self.size.height:
            if at < self.top:
                self.top = at
            elif at >= self.top + self.in_view:
                self.top = at - self.in_view + 1
        self.clamp_top()
        self.refresh()

    def move_to(self, index: int) -> None:
        if not self.cards:
            return
        self.highlighted = max(0, min(index, len(self.cards) - 1))
        self.show_cursor()
        self.post_message(self.Highlighted(self, self.highlighted))

    def scroll_cards(self, step: int) -> None:
        """Scroll by whole cards; the cursor stays on a card in view (the keys act on the card you see)."""
        before = self.top
        self.top += step
        self.clamp_top()
        if self.top != before:
            if self.highlighted is not None:
                self.highlighted = max(self.top, min(self.highlighted, self.top + self.in_view - 1))
            self.refresh()
            self.post_message(self.Highlighted(self, self.top + self.in_view - 1))

    # --- keys and mouse ---------------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.move_to(0 if self.highlighted is None else self.highlighted + 1)

    def action_cursor_up(self) -> None:
        self.move_to(0 if self.highlighted is None else self.highlighted - 1)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.cards) - 1)

    def action_page_down(self) -> None:
        self.move_to((self.highlighted or 0) + self.in_view)

    def action_page_up(self) -> None:
        self.move_to((self.highlighted or 0) - self.in_view)

    def action_select(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Selected(self, self.highlighted))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.x >= self.size.width - 1:  # outside, or on the scroll bar
            return
        index = self.top + offset.y // CARD_HEIGHT
        if index < len(self.cards):
            self.move_to(index)
            if event.chain == 2:
                self.action_select()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_cards(1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_cards(-1)

    # --- drawing ----------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        """Keep the cursor in view when the list's height changes (a terminal resized, the first layout
        of a list whose cursor was placed before it had a size)."""
        self.show_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.styles_for.clear()
        self.refresh()

    def role_style(self, role: str) -> Style:
        """The base style with the role's on top (the base alone for ``""``): computing the base walks
        every ancestor, so each is computed once per change of styles, not once per line."""
        style = self.styles_for.get(role)
        if style is None:
            style = self.rich_style
            if role:
                style += self.get_component_rich_style(f"deal-list--{role}", partial=True)
            self.styles_for[role] = style
        return style

    def cursor_style(self) -> Style:
        parent = self.parent
        active = isinstance(parent, Widget) and parent.has_class("-active")
        return self.get_component_rich_style(
            "deal-list--cursor" if active else "deal-list--cursor-blurred", partial=True
        )

    def bar_cell(self, y: int) -> Segment:
        """The scroll bar's cell on line ``y``: thumb where the view is within the stage, track elsewhere."""
        if not self.has_scroll_bar:
            return Segment(" ", self.role_style(""))
        height = self.size.height
        thumb = max(1, round(height * self.in_view / max(1, self.total)))
        start = min(height - thumb, round(height * self.top / max(1, self.total)))
        return Segment(" ", self.role_style("thumb" if start <= y < start + thumb else "track"))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.role_style("")
        index = self.top + y // CARD_HEIGHT
        text_width = max(0, width - 1)  # the last column is the scroll bar's
        if index >= len(self.cards):
            segments = [Segment(" " * text_width, base)]
        else:
            line = self.cards[index][y % CARD_HEIGHT]
            cursor = self.cursor_style() if index == self.highlighted else None
            fill = base + cursor if cursor is not None else base
            segments = [Segment(" ", fill)]
            used = 1
            for text, role in line:
                style = self.role_style(role)
                segments.append(Segment(text, style + cursor if cursor is not None else style))
                used += cell_len(text)
            segments.append(Segment(" " * max(0, text_width - used), fill))
        # Cut to the text's width first: wide characters (CJK, emoji) can make a line longer than its
        # count of characters, and the scroll bar's cell must stay in the last column.
        text = Strip(segments).crop(0, text_width)
        return Strip.join([text, Strip([self.bar_cell(y)], 1)]).crop(0, width)
