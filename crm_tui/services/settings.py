"""Desk settings: the rules' numbers that differ from desk to desk, stored in the database (``setting``),
shared by everyone on the desk. Each key has a default, so a new desk works with none stored.

``value("first_call.delay")`` gives the typed value; ``put()`` validates and stores the text a person
typed. Interval values are written as ``30m``, ``1h``, ``90s``, ``1d`` (a bare number is minutes).

A key may also be overridden for one process by an environment variable (``CRM_REMIND_EVERY`` for
``reminders.every``): ``value()`` honours it, ``listing()`` says so, and nothing is stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crm_tui.data.db import database
from crm_tui.data.models import Setting
from crm_tui.services.backup import parse_keep
from crm_tui.services.errors import InvalidInput
from crm_tui.services.mail_config import (
    parse_address,
    parse_folder,
    parse_host,
    parse_login,
    parse_port,
    parse_security,
)


def _interval(text: str) -> timedelta:
    from crm_tui.services.reminders import parse_interval

    return parse_interval(text)


def _interval_text(every: timedelta) -> str:
    """The shortest exact spelling: ``1h``, ``90m``, ``1d``, ``150s``."""
    seconds = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
    show: Callable[[Any], str] = str
    """The stored spelling of a parsed value (``60m`` is stored as ``1h``, ``rub`` as ``RUB``)."""
    env: str | None = None
    """An environment variable that overrides the stored value for the process that has it."""


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key(
            "first_call.delay",
            "1h",
            _interval,
            "how soon a new lead is to be called",
            _interval_text,
        ),
        Key(
            "first_call.retry",
            "30m",
            _interval,
            "when to call again after no answer or busy",
            _interval_text,
        ),
        Key(
            "reminders.every",
            "1h",
            _interval,
            "how often an overdue task is reminded again",
            _interval_text,
            env="CRM_REMIND_EVERY",
        ),
        Key("currency.default", "RUB", _currency, "the currency of a new deal"),
        Key("backups.keep", "14", parse_keep, "how many daily backups to keep beside the desk"),
        Key("mail.smtp.host", "", parse_host, "the SMTP server mail goes out through"),
        Key("mail.smtp.port", "587", parse_port, "the SMTP server's port (587 starttls, 465 ssl)"),
        Key("mail.smtp.security", "starttls", parse_security, "starttls, ssl, or none (127.0.0.1 only)"),
        Key("mail.smtp.user", "", parse_login, "the SMTP login (password: CRM_SMTP_PASSWORD)"),
        Key("mail.from", "", parse_address, "the sender address of the desk's mail"),
        Key("mail.imap.host", "", parse_host, "the IMAP server mail is fetched from"),
        Key("mail.imap.port", "993", parse_port, "the IMAP server's port (993 ssl, 143 starttls)"),
        Key("mail.imap.security", "ssl", parse_security, "ssl, starttls, or none (127.0.0.1 only)"),
        Key("mail.imap.user", "", parse_login, "the IMAP login (password: CRM_IMAP_PASSWORD)"),
        Key("mail.imap.folder", "INBOX", parse_folder, "the folder new mail is fetched from"),
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


@dataclass(frozen=True)
class SettingView:
    """One desk setting as a person reads it: ``source`` is ``default``, ``desk`` (stored) or ``env``."""

    key: str
    value: str
    default: str
    is_default: bool
    source: str
    help: str
    env: str | None


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


def _stored(name: str) -> str | None:
    row = Setting.get_or_none(Setting.key == name)
    return row.value if row is not None else None


def text(name: str) -> str:
    """The stored text of a setting, else its default (the environment's override is not looked at)."""
    k = key(name)
    stored = _stored(name)
    return stored if stored is not None else k.default


def value(name: str) -> Any:
    """The typed value (a ``timedelta`` for intervals, a code for the currency): the environment's
    override if the key has one and it is set, else the stored value, else the default."""
    k = key(name)
    override = os.environ.get(k.env) if k.env else None
    return k.parse(override if override else text(name))


def view(name: str) -> SettingView:
    """A setting with where its value comes from."""
    k = key(name)
    stored = _stored(name)
    override = os.environ.get(k.env) if k.env else None
    if override:
        shown, source = k.show(k.parse(override)), "env"
    elif stored is not None:
        shown, source = stored, "desk"
    else:
        shown, source = k.default, "default"
    try:
        same = k.parse(shown) == k.parse(k.default)
    except InvalidInput:  # a value stored by hand, outside put(): shown as it is, never the default
        same = False
    return SettingView(k.name, shown, k.default, same, source, k.help, k.env)


def listing() -> list[SettingView]:
    """Every desk setting, in the registry's order."""
    return [view(name) for name in KEYS]


def put(name: str, raw: str) -> Any:
    """Validate and store a setting; returns the typed value. A bad value writes nothing."""
    k = key(name)
    parsed = k.parse(raw)
    stored = k.show(parsed)
    with database.atomic():
        Setting.insert(key=name, value=stored).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: stored}
        ).execute()
    return parsed


def reset(name: str) -> Any:
    """Forget the desk's value: the default applies again. Returns the default's typed value."""
    k = key(name)
    with database.atomic():
        Setting.delete().where(Setting.key == name).execute()
    return k.parse(k.default)
