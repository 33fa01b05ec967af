"""A contact's history, newest first, loaded a page at a time as the cursor (or the scroll) nears the end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import t
from crm_tui.i18n_format import when
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


def event_content(row: InteractionRow, lang: str = "en") -> Content:
    """``Mon 02 Mar 09:00  ☎ out  5:30  reached  · Анна Петрова`` then the subject / summary lines."""
    label, style = kind_label(row.kind, lang)
    at = when(clock.to_local(row.at), "%a %d %b %Y %H:%M", lang)
    width = label_width(lang)
    parts: list[str | tuple[str, str]] = [(at, "$text-muted"), "  ", (f"{label:<{width}}", f"bold {style}")]
    if row.kind in ("call_in", "call_out"):
        parts += ["  ", (duration_text(row.duration), "bold")]
    if row.outcome:
        parts += ["  ", (row.outcome, "italic")]
    parts += ["  · ", (row.by_name or t("timeline.system", lang), "$text-muted")]
    body = [text for text in (row.subject, row.summary) if text]
    for text in body:
        first = text.splitlines()[0] if text.strip() else ""
        parts += ["\n    ", first if len(first) <= 400 else first[:399] + "…"]
    return Content.assemble(*parts)


class Timeline(AppBound, OptionList):
    """Events as options (arrows, page keys); posts :class:`Timeline.NeedMore` near the end."""

    DEFAULT_CSS = """
    Timeline {
        height: 1fr;
        border: none;
        padding: 0;
    }
    Timeline > .option-list--option {
        padding: 0 1;
    }
    """

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

    def show_first(self, rows: list[InteractionRow], page_size: int) -> None:
        self.page_size = page_size
        self.rows = list(rows)
        self.exhausted = len(rows) < page_size
        self.waiting = False
        self.set_options([self.option(r) for r in rows])
        if rows:
            self.highlighted = 0

    def add_page(self, rows: list[InteractionRow]) -> None:
        self.waiting = False
        known = {r.id for r in self.rows}
        fresh = [r for r in rows if r.id not in known]
        self.exhausted = len(rows) < self.page_size
        self.rows.extend(fresh)
        self.add_options([self.option(r) for r in fresh])

    def prepend(self, row: InteractionRow) -> None:
        """A new event (just typed): on top, highlighted."""
        self.rows.insert(0, row)
        self.set_options([self.option(r) for r in self.rows])
        self.highlighted = 0
        self.scroll_home(animate=False)

    def option(self, row: InteractionRow) -> Option:
        return Option(event_content(row, self.crm.lang), id=f"event-{row.id}")

    def maybe_more(self, *, scrolled: bool = False) -> None:
        if self.exhausted or self.waiting or not self.rows:
            return
        near_cursor = (self.highlighted or 0) >= len(self.rows) - MORE_AHEAD
        near_bottom = scrolled and self.max_scroll_y - self.scroll_y <= self.scrollable_content_region.height
        if near_cursor or near_bottom:
            self.waiting = True
            last = self.rows[-1]
            self.post_message(self.NeedMore(self, (last.at, last.id)))

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        self.maybe_more()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value > old_value:
            self.maybe_more(scrolled=True)
