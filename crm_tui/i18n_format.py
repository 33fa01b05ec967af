"""Dates and spans of time in the UI's language.

``when(moment, "%a %d %b %H:%M", "ru")`` -> ``"пн 02 мар 09:00"``: ``%a`` and ``%b`` take the language's
names (``strftime`` would give the C locale's English ones). ``span("in 25 min", "ru")`` -> ``"через 25 мин"``
turns the short English spans of :func:`crm_tui.services.clock.age` / ``relative`` into the language.
"""

from __future__ import annotations

import re
from datetime import date

WEEKDAYS: dict[str, tuple[str, ...]] = {
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
}
MONTHS: dict[str, tuple[str, ...]] = {
    "ru": ("янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
}
UNITS: dict[str, dict[str, str]] = {
    "ru": {"min": "мин", "h": "ч", "d": "д", "mo": "мес", "y": "г"},
}
NOW_WORD: dict[str, str] = {"ru": "сейчас"}
IN_WORD: dict[str, str] = {"ru": "через"}
AGO_WORD: dict[str, str] = {"ru": "назад"}

_SPAN = re.compile(r"^(in )?(\d+) (min|h|d|mo|y)( ago)?$")


def when(moment: date, fmt: str, lang: str = "en") -> str:
    """``moment.strftime(fmt)`` with the weekday (``%a``) and month (``%b``) names of ``lang``."""
    if lang in WEEKDAYS:
        fmt = fmt.replace("%a", WEEKDAYS[lang][moment.weekday()])
    if lang in MONTHS:
        fmt = fmt.replace("%b", MONTHS[lang][moment.month - 1])
    return moment.strftime(fmt)


def span(text: str, lang: str = "en") -> str:
    """``"now"``, ``"12 min"``, ``"in 3 h"``, ``"5 d ago"`` (as ``clock`` says them) in ``lang``."""
    if lang not in UNITS:
        return text
    if text == "now":
        return NOW_WORD[lang]
    match = _SPAN.match(text)
    if match is None:
        return text
    ahead, amount, unit, ago = match.groups()
    said = f"{amount} {UNITS[lang][unit]}"
    if ahead:
        return f"{IN_WORD[lang]} {said}"
    if ago:
        return f"{said} {AGO_WORD[lang]}"
    return said
