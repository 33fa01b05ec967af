"""How the reminders of one check are said together, in the desk's language: one desktop notification,
one toast, however many came due.

One reminder is said as itself (its heading and body, see ``reminders.message``). Several are counted by
kind in the title, with the language's plural forms (``2 tasks due now · 3 overdue tasks``,
``5 просроченных задач``), and the longest due are named: in a line of a toast (``Call Иван, Call Ольга,
+3``), or one heading a line on the desktop, which has room for a few.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from crm_tui.i18n import t, tn

LATE_AFTER = timedelta(minutes=1)
"""A reminder of a task due longer ago than this counts as overdue (as its heading says)."""
TITLES_SHOWN = 2
"""Tasks named in a toast of several; the others are counted (``+3``)."""
TITLE_WIDTH = 28
"""The most a task's title takes in a toast of several."""
NAMES_WIDTH = 50
"""The names of a toast of several, with their ``+3``, fit on one line of a toast at 80 columns."""
DESKTOP_LINES = 5
"""Reminders a desktop notification of several lists, one heading a line; the others are counted."""


class Said(Protocol):
    """One reminder as worded (``reminders.Sent``)."""

    @property
    def task_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def task_title(self) -> str: ...
    @property
    def assignee_login(self) -> str | None: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def overdue(self) -> bool: ...


def is_late(item: Said, now: datetime) -> bool:
    return item.overdue or item.due_at < now - LATE_AFTER


def oldest_first(items: Sequence[Said]) -> list[Said]:
    return sorted(items, key=lambda item: (item.due_at, item.task_id))


def counted(items: Sequence[Said], now: datetime, lang: str) -> str:
    """``2 tasks due now · 3 overdue tasks`` / ``Пора: 2 задачи · 3 просроченные задачи``."""
    late = sum(1 for item in items if is_late(item, now))
    counts = []
    if len(items) - late:
        counts.append(tn("reminders.due-tasks", len(items) - late, lang))
    if late:
        counts.append(tn("reminders.overdue-tasks", late, lang))
    return " · ".join(counts)


def shorten(text: str, width: int = TITLE_WIDTH) -> str:
    """``text`` in at most ``width`` characters, cut at a word where one ends late enough."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,:;-—") + "…"


def names(items: Sequence[Said], lang: str) -> str:
    """The longest due first, as many as fit in one line (at most :data:`TITLES_SHOWN`), the rest
    counted: ``Call Игорь Воронин, Проверить ход работ…, +6``."""
    more = t("reminders.more", lang)
    said: list[str] = []
    room = NAMES_WIDTH - len(more.format(n=len(items))) - 2
    for item in oldest_first(items)[:TITLES_SHOWN]:
        comma = 2 if said else 0
        width = min(TITLE_WIDTH, room - comma)
        if said and width < 12:  # the first is always named, however cut
            break
        said.append(shorten(item.task_title or item.title, width))
        room -= len(said[-1]) + comma
    if len(items) > len(said):
        said.append(more.format(n=len(items) - len(said)))
    return ", ".join(said)


def toast_text(
    items: Sequence[Said], now: datetime, lang: str, *, hint: bool = True, me: str | None = None
) -> tuple[str, str]:
    """Title and body of the app's one toast for the reminders of one check. ``hint`` ends the title
    with ``press 4`` (not said on the task queue itself); ``for <me>`` goes without saying."""
    press = [t("reminders.press", lang)] if hint else []
    if len(items) == 1:
        (item,) = items
        body = item.body
        for_me = " · " + t("reminder.for", lang).format(login=me)
        if me and item.assignee_login == me and body.endswith(for_me):
            body = body[: -len(for_me)]
        return " · ".join([item.title, *press]), body
    return " · ".join([counted(items, now, lang), *press]), names(items, lang)


def desktop_text(items: Sequence[Said], now: datetime, lang: str) -> tuple[str, str]:
    """Summary and body of the one desktop notification for the reminders of one check: the count, then
    the headings of the longest due, one a line (``Overdue (2 d): Call Иван``), the rest counted."""
    if len(items) == 1:
        return items[0].title, items[0].body
    lines = [item.title for item in oldest_first(items)[:DESKTOP_LINES]]
    if len(items) > DESKTOP_LINES:
        lines.append(t("reminders.more-lines", lang).format(n=len(items) - DESKTOP_LINES))
    return counted(items, now, lang), "\n".join(lines)
