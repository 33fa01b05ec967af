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


def _free(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = " ".join(text.split())
        if len(value) > limit:
            raise InvalidInput(
                f"Too long: at most {limit} characters",
                {"value": "too long"},
                code="setting.too_long",
                params={"limit": limit},
            )
        return value

    return parse


def _digits(*lengths: int) -> Callable[[str], str]:
    """A requisite made of digits (INN 10/12, KPP 9, OGRN 13/15, BIK 9, accounts 20); empty clears it."""

    def parse(text: str) -> str:
        value = "".join(text.split())
        if value and (not value.isascii() or not value.isdigit() or len(value) not in lengths):
            wanted = " or ".join(str(n) for n in lengths)
            raise InvalidInput(
                f"Not a requisite: {text.strip()!r} ({wanted} digits)",
                {"value": "not digits"},
                code="requisite.invalid",
                params={"value": text.strip(), "lengths": list(lengths)},
            )
        return value

    return parse


def _vat(text: str) -> int | None:
    from crm_tui.services.products import parse_vat

    return parse_vat(text)


def _days(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= 365:
        raise InvalidInput(
            f"Not a number of days: {text!r} (a whole number from 1 to 365)",
            {"value": "not days"},
            code="days.invalid",
            params={"value": text},
        )
    return int(value)


def _lang(text: str) -> str:
    value = text.strip().lower()
    if value not in ("ru", "en"):
        raise InvalidInput(
            f"Not a document language: {text!r} (ru or en)",
            {"value": "not a language"},
            code="lang.invalid",
            params={"value": text},
        )
    return value


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
        Key("vat.default", "22", _vat, "the VAT rate of a new product: 22, 10, 0 or none"),
        Key("documents.lang", "ru", _lang, "the language of a document when the client has none: ru or en"),
        Key("documents.templates", "", _free(500), "a folder of edited document templates ('' = shipped)"),
        Key("documents.proposal_days", "14", _days, "how many days a proposal stays valid"),
        Key("company.name", "", _free(300), "the desk's legal name on documents"),
        Key("company.inn", "", _digits(10, 12), "INN (10 or 12 digits)"),
        Key("company.kpp", "", _digits(9), "KPP (9 digits)"),
        Key("company.ogrn", "", _digits(13, 15), "OGRN or OGRNIP (13 or 15 digits)"),
        Key("company.address", "", _free(500), "legal address"),
        Key("company.bank", "", _free(300), "bank name"),
        Key("company.bik", "", _digits(9), "bank BIK (9 digits)"),
        Key("company.account", "", _digits(20), "settlement account (20 digits)"),
        Key("company.corr_account", "", _digits(20), "correspondent account (20 digits)"),
        Key("company.director", "", _free(200), "who signs documents (name)"),
        Key("company.accountant", "", _free(200), "chief accountant (name), signs invoices"),
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
