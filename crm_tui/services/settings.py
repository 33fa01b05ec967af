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
