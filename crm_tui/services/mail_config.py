"""The desk mailbox: where mail goes out (SMTP) and comes in (IMAP), read from the desk settings.

The settings (``mail.smtp.host``, ``mail.smtp.port``, ``mail.smtp.security``, ``mail.smtp.user``,
``mail.from``, and the same under ``mail.imap.*``) are keys of :mod:`crm_tui.services.settings`; the
parsers here check what a person types. Passwords are never stored in the database: they come from
``CRM_SMTP_PASSWORD`` / ``CRM_IMAP_PASSWORD``, else from the system keyring when the ``keyring`` package
is installed (service ``crm-tui``, user ``smtp:LOGIN@HOST`` or ``imap:LOGIN@HOST``).

``security`` is ``starttls`` (upgrade a plain connection, the usual port 587 / 143), ``ssl`` (TLS from the
first byte, 465 / 993) or ``none``, which is allowed only for a server on this machine (127.0.0.1,
``localhost``, ::1): a password never crosses a network in clear.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from crm_tui.services.errors import InvalidInput, RuleViolation

SECURITY = ("starttls", "ssl", "none")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
KEYRING_SERVICE = "crm-tui"


def parse_host(text: str) -> str:
    """A server's name or address; ``""`` means not set up."""
    host = text.strip().lower()
    if host and (
        len(host) > 253 or not host.isascii() or any(c.isspace() or c in "/@:" for c in host.strip("[]"))
    ):
        if not (host.startswith("[") and host.endswith("]")):
            raise InvalidInput(
                f"Not a server name: {text!r} (e.g. smtp.example.org or 127.0.0.1)",
                {"value": "not a host"},
                code="mail.host.invalid",
                params={"value": text},
            )
    return host.strip("[]")


def parse_port(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 65535):
        raise InvalidInput(
            f"Not a port: {text!r} (a number from 1 to 65535)",
            {"value": "not a port"},
            code="mail.port.invalid",
            params={"value": text},
        )
    return int(value)


def parse_security(text: str) -> str:
    value = text.strip().lower()
    if value not in SECURITY:
        raise InvalidInput(
            f"Not a connection security: {text!r}; one of: {', '.join(SECURITY)}",
            {"value": "unknown"},
            code="mail.security.invalid",
            params={"value": text, "known": list(SECURITY)},
        )
    return value


def parse_login(text: str) -> str:
    value = text.strip()
    if len(value) > 320 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(
            f"Not a mailbox login: {text!r}",
            {"value": "not a login"},
            code="mail.user.invalid",
            params={"value": text},
        )
    return value


def parse_address(text: str) -> str:
    """The sender address: ``sales@example.org`` or ``Sales desk <sales@example.org>``; ``""`` = unset."""
    from email.utils import formataddr, parseaddr

    from crm_tui.services.validation import normalize_email

    value = text.strip()
    if not value:
        return ""
    name, address = parseaddr(value)
    if not address or any(c in value for c in "\r\n"):
        raise InvalidInput(
            f"Not an e-mail address: {text!r}",
            {"value": "not an address"},
            code="email.invalid",
            params={"text": text, "reason": "not an address"},
        )
    clean = normalize_email(address) or ""
    return formataddr((name, clean)) if name else clean


def parse_folder(text: str) -> str:
    value = text.strip() or "INBOX"
    if any(ord(c) < 32 for c in value) or len(value) > 200:
        raise InvalidInput(
            f"Not a mail folder: {text!r}",
            {"value": "not a folder"},
            code="mail.folder.invalid",
            params={"value": text},
        )
    return value


@dataclass(frozen=True)
class Server:
    """One side of the mailbox, as configured: ``kind`` is ``smtp`` or ``imap``."""

    kind: str
    host: str
    port: int
    security: str
    user: str

    def password(self) -> str | None:
        return password(self.kind, self.user, self.host)


def server(kind: str) -> Server:
    """The configured SMTP or IMAP server; refuses (``mail.not_configured``, ``mail.insecure``) when it
    cannot be used."""
    from crm_tui.services import settings

    host = settings.value(f"mail.{kind}.host")
    if not host:
        raise RuleViolation(
            f"the desk mailbox has no {kind.upper()} server: crm config set mail.{kind}.host HOST",
            code="mail.not_configured",
            params={"kind": kind},
        )
    found = Server(
        kind=kind,
        host=host,
        port=settings.value(f"mail.{kind}.port"),
        security=settings.value(f"mail.{kind}.security"),
        user=settings.value(f"mail.{kind}.user"),
    )
    if found.security == "none" and found.host not in LOOPBACK:
        raise RuleViolation(
            f"mail.{kind}.security is none, which is allowed only for a server on this machine "
            f"(127.0.0.1), not {host}: use starttls or ssl",
            code="mail.insecure",
            params={"kind": kind, "host": host},
        )
    return found


def sender() -> str:
    """``mail.from``, else the SMTP login when it is an address; refuses when there is neither."""
    from crm_tui.services import settings

    address = settings.value("mail.from") or (
        settings.value("mail.smtp.user") if "@" in settings.value("mail.smtp.user") else ""
    )
    if not address:
        raise RuleViolation(
            "the desk has no sender address: crm config set mail.from sales@example.org",
            code="mail.no_sender",
        )
    return str(address)


def password(kind: str, user: str, host: str) -> str | None:
    """``CRM_SMTP_PASSWORD`` / ``CRM_IMAP_PASSWORD``, else the system keyring; ``None`` if neither."""
    found = os.environ.get(f"CRM_{kind.upper()}_PASSWORD")
    if found:
        return found
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, f"{kind}:{user}@{host}")
    except Exception:  # noqa: BLE001 - no keyring backend on this machine is the same as no password
        return None
    return str(stored) if stored else None
