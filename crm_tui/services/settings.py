"""Desk settings: the rules' numbers that differ from desk to desk, stored in the database (``setting``),
shared by everyone on the desk. Each key has a default, so a new desk works with none stored.

``value("first_call.delay")`` gives the typed value; ``put()`` validates and stores the text a person
typed. Interval values are written as ``30m``, ``1h``, ``90s``, ``1d`` (a bare number is minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crm_tui.data.db import database
from crm_tui.data.models import Setting
from crm_tui.services.backup import parse_keep
from crm_tui.services.errors import InvalidInput


def _interval(text: str) -> timedelta:
    from crm_tui.services.reminders import parse_interval

    return parse_interval(text)


def _currency(text: str) -> str:
    code = text.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidInput(
            f"Not a currency code: {text!r} (three letters, e.g. RUB)",
            {"value": "not a currency"},
            code="currency.invalid",
            params={"value": text},
        )
    return code


@dataclass(frozen=True)
class Key:
    name: str
    default: str
    parse: Callable[[str], Any]
    help: str


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("first_call.delay", "1h", _interval, "how soon a new lead is to be called"),
        Key("first_call.retry", "30m", _interval, "when to call again after no answer or busy"),
        Key("reminders.every", "1h", _interval, "how often an overdue task is reminded again"),
        Key("currency.default", "RUB", _currency, "the currency of a new deal"),
        Key("backups.keep", "14", parse_keep, "how many daily backups to keep beside the desk"),
    )
}


def key(name: str) -> Key:
    found = KEYS.get(name)
    if found is None:
        raise InvalidInput(
            f"No desk setting {name!r}; known: {', '.join(sorted(KEYS))}",
            {"key": "unknown"},
            code="setting.unknown",
            params={"key": name, "known": sorted(KEYS)},
        )
    return found


def text(name: str) -> str:
    """The stored text of a setting, else its default."""
    k = key(name)
    row = Setting.get_or_none(Setting.key == name)
    return row.value if row is not None else k.default


def value(name: str) -> Any:
    """The typed value (a ``timedelta`` for intervals, a code for the currency)."""
    return key(name).parse(text(name))


def put(name: str, raw: str) -> Any:
    """Validate and store a setting; returns the typed value. A bad value writes nothing."""
    parsed = key(name).parse(raw)
    stored = raw.strip()
    with database.atomic():
        Setting.insert(key=name, value=stored).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: stored}
        ).execute()
    return parsed
