"""A contact's history, newest first, loaded a page at a time as the cursor (or the scroll) nears the end.

:class:`Timeline` draws its lines itself (Textual's line API): only the lines on screen are rendered, each
event's height is known as soon as the width is, so the first layout of a screen that shows a history is
its final one, and a page of older events grows the scroll range without a new layout.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual

from crm_tui.deal_words import stored_edit_text
from crm_tui.i18n import t
from crm_tui.i18n_format import when
from crm_tui.i18n_words import event_words, outcome_word
from crm_tui.services import clock
from crm_tui.services.views import InteractionRow
from crm_tui.widgets.app_bound import AppBound

MORE_AHEAD = 10

KIND_STYLES = {
    "call_in": ("☎", "$success"),
    "call_out": ("☎", "$success"),
    "email_in": ("✉", "$accent"),
    "email_out": ("✉", "$accent"),
    "meeting": ("◉", "$secondary"),
    "note": ("✎", "$text"),
    "stage_change": ("→", "$primary"),
    "conversion": ("★", "$warning"),
    "repeat_request": ("↺", "$warning"),
    "deal_edit": ("≡", "$secondary"),
}
"""Each kind's mark and colour; its name is the i18n key ``timeline.<kind>`` (``☎ in``, ``✎ note``)."""


def kind_label(kind: str, lang: str = "en") -> tuple[str, str]:
    """(``"☎ out"``, style) of an event kind in ``lang``; an unknown kind shows as it is."""
    if kind not in KIND_STYLES:
        return kind, "$text"
    mark, style = KIND_STYLES[kind]
    return f"{mark} {t(f'timeline.{kind}', lang)}", style


def label_width(lang: str) -> int:
    """The widest kind name in ``lang``: the column the event text starts at."""
    return max(len(kind_label(kind, lang)[0]) for kind in KIND_STYLES)


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


def event_content(
    row: InteractionRow, lang: str = "en", stage_names: Mapping[str, str] | None = None
) -> Content:
    """``Mon 02 Mar 09:00  ☎ out  5:30  reached  · Анна Петрова`` then the subject / summary lines; what
    the rules wrote is said in ``lang`` (``stage_names``: English stage names to the desk's)."""
    label, style = kind_label(row.kind, lang)
    at = when(clock.to_local(row.at), "%a %d %b %Y %H:%M", lang)
    width = label_width(lang)
    parts: list[str | tuple[str, str]] = [(at, "$text-muted"), "  ", (f"{label:<{width}}", f"bold {style}")]
    if row.kind in ("call_in", "call_out"):
        parts += ["  ", (duration_text(row.duration), "bold")]
    if row.outcome:
        parts += ["  ", (outcome_word(row.outcome, lang), "italic")]
    parts += ["  · ", (row.by_name or t("timeline.system", lang), "$text-muted")]
    names = stage_names or {}
    body = [event_words(text, lang, names, row.kind) for text in (row.subject, row.summary) if text]
    if row.kind == "deal_edit":  # the deal's title, then what changed, worded from the stored code
        body += [text for text in (stored_edit_text(row.data, lang),) if text]
    for text in body:
        first = text.splitlines()[0] if text.strip() else ""
        parts += ["\n    ", first if len(first) <= 400 else first[:399] + "…"]
    return Content.assemble(*parts)


def content_height(content: Content, width: int, styles: object) -> int:
    """Lines ``content`` takes at ``width``, counted without wrapping when every line fits (as usual)."""
    lines = content.plain.split("\n")
    if all(cell_len(line) <= width for line in lines):
        return len(lines)
    return content.get_height(styles, width)  # type: ignore[arg-type]


class Timeline(AppBound, ScrollView, can_focus=True):
    """Events, one or more lines each; a cursor row (arrows, page keys, a click); posts
    :class:`Timeline.NeedMore` when the cursor or the scroll nears the last loaded event."""

    DEFAULT_CSS = """
    Timeline {
        height: 1fr;
        overflow-x: hidden;
        background: $surface;
        color: $foreground;
        &.-long {
            overflow-y: scroll;
        }
        &:focus {
            border: tall $border;
            background-tint: $foreground 5%;
            & > .timeline--cursor {
                color: $block-cursor-foreground;
                background: $block-cursor-background;
                text-style: $block-cursor-text-style;
            }
        }
        & > .timeline--cursor {
            color: $foreground;
            background: $block-cursor-blurred-background;
        }
        & > .timeline--hover {
            background: $block-hover-background;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"timeline--event", "timeline--cursor", "timeline--hover"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "cursor_down", "Down", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("pagedown", "page_down", "Page Down", show=False),
        Binding("pageup", "page_up", "Page Up", show=False),
    ]

    LONG = 40
    """From this many lines (unwrapped) the scroll bar is shown from the first layout on."""

    PAD = 1
    """Blank cells left and right of each line (inside the cursor's colour)."""

    @dataclass
    class NeedMore(Message):
        timeline: Timeline
        before: tuple[datetime, int]

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.rows: list[InteractionRow] = []
        self.exhausted = False
        self.waiting = False
        self.page_size = 50
        self.cursor: int | None = None
        """The highlighted event (an index into ``rows``), ``None`` when there are none."""
        self.hover: int | None = None
        self._contents: list[Content] = []
        self._starts: list[int] = []  # the first line of each event at ``_width``
        self._line_count = 0
        self._width = 0  # the text width the lines were counted at (0: not laid out yet)
        self._strips: dict[tuple[int, int, Style], list[Strip]] = {}

    # --- data -------------------------------------------------------------------------------------------

    def show_first(self, rows: list[InteractionRow], page_size: int) -> None:
        self.page_size = page_size
        self.rows = list(rows)
        self.exhausted = len(rows) < page_size
        self.waiting = False
        self.cursor = 0 if rows else None
        self._rebuild()
        self._set_long()
        if self.scroll_y:
            self.scroll_to(y=0, animate=False)

    def add_page(self, rows: list[InteractionRow]) -> None:
        self.waiting = False
        known = {r.id for r in self.rows}
        fresh = [r for r in rows if r.id not in known]
        self.exhausted = len(rows) < self.page_size
        self.rows.extend(fresh)
        lang = self.crm.lang
        self._contents.extend(event_content(r, lang, self.crm.stage_names_ru) for r in fresh)
        self._count_lines(len(self.rows) - len(fresh))
        self._set_long()

    def prepend(self, row: InteractionRow) -> None:
        """A new event (just typed): on top, highlighted."""
        self.rows.insert(0, row)
        self._rebuild()
        self._set_long()
        self.cursor = 0
        self.scroll_home(animate=False)

    def event_text(self, index: int) -> str:
        """The plain text of event ``index`` as shown (lines joined by newlines)."""
        return self._contents[index].plain

    def _rebuild(self) -> None:
        lang = self.crm.lang
        self._contents = [event_content(r, lang, self.crm.stage_names_ru) for r in self.rows]
        self._strips.clear()
        self._starts = []
        self._line_count = 0
        self._count_lines(0)

    def _count_lines(self, first: int) -> None:
        """Count the lines of events ``first``... at the laid-out width and grow the scroll range."""
        if self._width:
            width, styles = self._width, self.styles
            total = self._line_count
            for content in self._contents[first:]:
                self._starts.append(total)
                total += content_height(content, width, styles)
            self._line_count = total
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        size = Size(self._width + 2 * self.PAD, self._line_count)
        if size != self.virtual_size:
            self.set_reactive(Timeline.virtual_size, size)
            if self._size:
                self._scroll_update(size)
            self.refresh()

    def _set_long(self) -> None:
        """Show the scroll bar from the start for a long history (no second layout when it appears)."""
        lines = sum(content.plain.count("\n") + 1 for content in self._contents[: self.LONG])
        long = lines >= self.LONG or not self.exhausted
        if long != self.has_class("-long"):
            self.set_class(long, "-long")
            if long:
                self.show_vertical_scrollbar = True

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        scrollbar = self.styles.scrollbar_size_vertical if self.show_vertical_scrollbar else 0
        width = max(1, size.width - self.styles.gutter.width - scrollbar - 2 * self.PAD)
        if width != self._width:
            self._width = width
            self._strips.clear()
            self._starts = []
            self._line_count = 0
            self._count_lines(0)
        return super()._size_updated(size, self.virtual_size, container_size, layout)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # --- drawing ----------------------------------------------------------------------------------------

    def row_at_line(self, line: int) -> int | None:
        """The event drawn on virtual line ``line``, if any."""
        if not self._starts or line < 0 or line >= self._line_count:
            return None
        return bisect_right(self._starts, line) - 1

    def row_lines(self, index: int) -> tuple[int, int]:
        """(first line, line count) of event ``index``."""
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else self._line_count
        return start, end - start

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = self.scroll_offset.y + y
        index = self.row_at_line(line)
        if index is None:
            return Strip.blank(width, self.get_visual_style("timeline--event").rich_style)
        if index == self.cursor:
            style = self.get_visual_style("timeline--event", "timeline--cursor")
        elif index == self.hover:
            style = self.get_visual_style("timeline--event", "timeline--hover")
        else:
            style = self.get_visual_style("timeline--event")
        strips = self._event_strips(index, style)
        offset = line - self._starts[index]
        return strips[offset] if offset < len(strips) else Strip.blank(width, style.rich_style)

    def _event_strips(self, index: int, style: Style) -> list[Strip]:
        key = (index, self._width, style)
        if (strips := self._strips.get(key)) is None:
            width = self._width
            rich_style = style.rich_style
            content = self._contents[index]
            lines = content.split("\n")
            if all(line.cell_length <= width for line in lines):  # no wrapping: each line as it is
                rendered = [Strip(line.render_segments(style), line.cell_length) for line in lines]
            else:
                rendered = Visual.to_strips(self, content, width, None, style, pad=True)
            strips = [strip.crop_pad(width, self.PAD, self.PAD, rich_style) for strip in rendered]
            self._strips[key] = strips
        return strips

    def refresh_row(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self._starts):
            return
        start, count = self.row_lines(index)
        self.refresh_lines(start, count)

    # --- the cursor -------------------------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        """Highlight event ``index`` (kept in range), scroll it into view, and ask for more near the end."""
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        old, self.cursor = self.cursor, index
        if old != index:
            self.refresh_row(old)
            self.refresh_row(index)
        self.scroll_to_cursor()
        self.maybe_more()

    def scroll_to_cursor(self) -> None:
        if self.cursor is None or not self._starts or self.cursor >= len(self._starts):
            return
        start, count = self.row_lines(self.cursor)
        height = self.scrollable_content_region.height
        top = self.scroll_offset.y
        if start < top:
            self.scroll_to(y=start, animate=False)
        elif start + count > top + height:
            self.scroll_to(y=min(start, start + count - height), animate=False)

    def action_cursor_down(self) -> None:
        self.move_cursor(0 if self.cursor is None else self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(0 if self.cursor is None else self.cursor - 1)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.rows) - 1)

    def action_page_down(self) -> None:
        self._page(+1)

    def action_page_up(self) -> None:
        self._page(-1)

    def _page(self, direction: int) -> None:
        if self.cursor is None or not self._starts:
            return
        start, _ = self.row_lines(self.cursor)
        line = start + direction * self.scrollable_content_region.height
        target = self.row_at_line(max(0, min(line, self._line_count - 1)))
        self.move_cursor(self.cursor + direction if target in (None, self.cursor) else target)

    # --- the mouse --------------------------------------------------------------------------------------

    def event_at(self, event: events.MouseEvent) -> int | None:
        """The event under the mouse pointer, if any."""
        offset = event.get_content_offset(self)
        return None if offset is None else self.row_at_line(self.scroll_offset.y + offset.y)

    async def _on_click(self, event: events.Click) -> None:
        index = self.event_at(event)
        if index is not None:
            self.move_cursor(index)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        index = self.event_at(event)
        if index != self.hover:
            old, self.hover = self.hover, index
            self.refresh_row(old)
            self.refresh_row(index)

    def _on_leave(self, event: events.Leave) -> None:
        old, self.hover = self.hover, None
        self.refresh_row(old)

    # --- paging -----------------------------------------------------------------------------------------

    def maybe_more(self, *, scrolled: bool = False) -> None:
        if self.exhausted or self.waiting or not self.rows:
            return
        near_cursor = (self.cursor or 0) >= len(self.rows) - MORE_AHEAD
        near_bottom = scrolled and self.max_scroll_y - self.scroll_y <= self.scrollable_content_region.height
        if near_cursor or near_bottom:
            self.waiting = True
            last = self.rows[-1]
            self.post_message(self.NeedMore(self, (last.at, last.id)))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value > old_value:
            self.maybe_more(scrolled=True)
