"""Fetching the desk mailbox (IMAP): each new message goes onto the card of whoever sent it.

The sender's address is looked up among the contacts' e-mail channels, then among the leads' e-mails.
A message from a contact is logged as ``email_in`` on the contact (and its latest lead and latest open
deal, where the reply to a proposal belongs); from a lead, on the lead. A sender nobody knows becomes a
new lead with source ``email``: a lead from a mail has an address and no phone (``phone`` is empty
until someone adds it), and instead of the "Call" task of a lead from a form it gets the same task as
every fetched message, "Reply to <name>", for its owner.

Attachments are saved in ``attachments/`` beside the desk's file (under the user's data folder for a
PostgreSQL desk), one folder per month, each file named ``<fetched id>-<its name>``.

A message is never logged twice: its Message-ID is unique in ``fetched_mail``, written in the same
transaction as the interaction, the lead and the task. The folder's UIDs are remembered too, so the next
fetch asks the server only for newer messages; reading the mail elsewhere (marking it seen) does not
hide it from the desk. A message without a Message-ID is known by a digest of its bytes.
"""

from __future__ import annotations

import email
import hashlib
import imaplib
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from pathlib import Path

from peewee import IntegrityError, fn

from crm_tui.data import search as index
from crm_tui.data.db import database, is_sqlite
from crm_tui.data.mail_models import FetchedMail
from crm_tui.data.models import Contact, ContactChannel, Deal, Lead, Task
from crm_tui.services import interactions, mail_config
from crm_tui.services.errors import RuleViolation
from crm_tui.services.validation import clean_text

TIMEOUT = 30.0
REPLY_WITHIN = timedelta(hours=1)
BATCH = 50  # messages fetched per IMAP command
ATTACHMENT_DIR = "attachments"


@dataclass(frozen=True)
class FetchedRow:
    message_id: str
    sender: str
    subject: str
    contact_id: int | None
    lead_id: int | None
    deal_id: int | None
    new_lead: bool
    interaction_id: int
    task_id: int
    attachments: list[str]


@dataclass
class FetchReport:
    messages: list[FetchedRow] = field(default_factory=list)
    skipped: int = 0  # already fetched (the same Message-ID)


def attachments_root() -> Path:
    """``attachments/`` beside the desk's file, or under the user's data folder for PostgreSQL."""
    target = database.obj
    if is_sqlite(target):
        from crm_tui.services.backup import sqlite_file

        return sqlite_file(target).parent / ATTACHMENT_DIR
    from platformdirs import user_data_path

    return user_data_path("crm-tui", appauthor=False) / ATTACHMENT_DIR


def connect(server: mail_config.Server | None = None) -> imaplib.IMAP4:
    server = server or mail_config.server("imap")
    context = ssl.create_default_context()
    client: imaplib.IMAP4
    try:
        if server.security == "ssl":
            client = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=context, timeout=TIMEOUT)
        else:
            client = imaplib.IMAP4(server.host, server.port, timeout=TIMEOUT)
            if server.security == "starttls":
                client.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as error:
        raise RuleViolation(
            f"cannot reach the IMAP server {server.host}:{server.port}: {error}",
            code="mail.unreachable",
            params={"host": server.host, "port": server.port},
        ) from error
    secret = server.password()
    if secret is None:
        client.shutdown()
        raise RuleViolation(
            "no IMAP password: set CRM_IMAP_PASSWORD (or store it in the system keyring)",
            code="mail.no_password",
            params={"kind": "imap"},
        )
    try:
        client.login(server.user, secret)
    except imaplib.IMAP4.error as error:
        client.shutdown()
        raise RuleViolation(
            f"the IMAP server refused the login of {server.user!r}",
            code="mail.auth_failed",
            params={"user": server.user},
        ) from error
    return client


def fetch(*, now: datetime, by: int | None) -> FetchReport:
    """Take the new messages of the desk mailbox onto the cards (see the module's doc)."""
    from crm_tui.services import settings

    folder = settings.value("mail.imap.folder")
    client = connect()
    report = FetchReport()
    try:
        status, data = client.select(_quote(folder), readonly=True)
        if status != "OK":
            raise RuleViolation(
                f"no folder {folder!r} in the desk mailbox",
                code="mail.folder.missing",
                params={"folder": folder},
            )
        validity = _uid_validity(client)
        last = (
            FetchedMail.select(fn.MAX(FetchedMail.uid))
            .where((FetchedMail.folder == folder) & (FetchedMail.uid_validity == validity))
            .scalar()
            or 0
        )
        status, found = client.uid("SEARCH", None, f"UID {int(last) + 1}:*")
        uids = [int(u) for u in (found[0] or b"").split() if int(u) > last]
        for start in range(0, len(uids), BATCH):
            chunk = uids[start : start + BATCH]
            status, parts = client.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
            for uid, raw in _messages(parts):
                row = take(raw, now=now, by=by, folder=folder, uid_validity=validity, uid=uid)
                if row is None:
                    report.skipped += 1
                else:
                    report.messages.append(row)
    except (OSError, imaplib.IMAP4.error) as error:
        raise RuleViolation(
            f"the IMAP server broke off: {error}", code="mail.unreachable", params={}
        ) from error
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return report


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uid_validity(client: imaplib.IMAP4) -> int:
    _typ, data = client.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    return 0


_UID = re.compile(rb"UID (\d+)")


def _messages(parts: list[object]) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for part in parts:
        if isinstance(part, tuple) and len(part) == 2:
            head, body = part
            match = _UID.search(head)
            if match and isinstance(body, bytes):
                out.append((int(match.group(1)), body))
    return out


def message_key(message: EmailMessage, raw: bytes) -> str:
    found = str(message.get("Message-ID", "") or "").strip()
    return found[:500] if found else f"<sha256:{hashlib.sha256(raw).hexdigest()}>"


def take(
    raw: bytes, *, now: datetime, by: int | None, folder: str = "INBOX", uid_validity: int = 0, uid: int = 0
) -> FetchedRow | None:
    """Log one message on its card; ``None`` when it was fetched before (by its Message-ID)."""
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    key = message_key(message, raw)
    if FetchedMail.select().where(FetchedMail.message_id == key).exists():
        _remember_uid(key, folder, uid_validity, uid)
        return None
    name, address = parseaddr(str(message.get("From", "")))
    address = address.strip().lower()
    subject = _one_line(str(message.get("Subject", "") or ""))[:300]
    body = _body(message)
    try:
        with database.atomic():
            return _log(message, key, name, address, subject, body, now, by, folder, uid_validity, uid)
    except IntegrityError:  # another fetch took the same message at the same moment
        return None


def _remember_uid(key: str, folder: str, uid_validity: int, uid: int) -> None:
    if uid:
        with database.atomic():
            FetchedMail.update(folder=folder, uid_validity=uid_validity, uid=uid).where(
                (FetchedMail.message_id == key) & (FetchedMail.uid < uid)
            ).execute()


def _one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = str(part.get_content())  # type: ignore[union-attr]
    except (LookupError, ValueError):
        return ""
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text)[:20000]


def _log(
    message: EmailMessage,
    key: str,
    name: str,
    address: str,
    subject: str,
    body: str,
    now: datetime,
    by: int | None,
    folder: str,
    uid_validity: int,
    uid: int,
) -> FetchedRow:
    contact = _contact_by_email(address) if address else None
    lead = None
    deal = None
    new_lead = False
    if contact is not None:
        lead = Lead.select().where(Lead.contact == contact.id).order_by(Lead.id.desc()).first()
        deal = (
            Deal.select()
            .where((Deal.contact == contact.id) & Deal.won_at.is_null() & Deal.lost_at.is_null())
            .order_by(Deal.id.desc())
            .first()
        )
        who, owner = contact.name, contact.owner_id
    else:
        lead = (
            Lead.select().where(Lead.email == address).order_by(Lead.id.desc()).first() if address else None
        )
        if lead is None:
            lead = _new_lead(name, address, subject, now=now, by=by)
            new_lead = True
        who, owner = lead.name, lead.owner_id
    record = FetchedMail.create(
        message_id=key,
        sender=address[:320],
        subject=subject,
        fetched_at=now,
        folder=folder,
        uid_validity=uid_validity,
        uid=uid,
    )
    saved = _save_attachments(message, record.id, now)
    sent_at = _date(message) or now
    item = interactions.log(
        "email_in",
        by=None,
        now=now,
        at=sent_at,
        lead_id=lead.id if lead else None,
        contact_id=contact.id if contact else None,
        deal_id=deal.id if deal else None,
        subject=subject,
        summary=body,
        data={
            "from": address,
            "message_id": key,
            "attachments": [p.name.split("-", 1)[1] for p in saved],
            "files": [str(p) for p in saved],
        },
    )
    FetchedMail.update(interaction_id=item.id).where(FetchedMail.id == record.id).execute()
    title = clean_text(f"Reply to {who}"[:300], "title", "Title", 300) or "Reply"
    task = Task.create(
        title=title,
        due_at=now + REPLY_WITHIN,
        next_remind_at=now + REPLY_WITHIN,
        assignee=owner if owner is not None else by,
        created_by=None,
        lead=lead.id if lead and contact is None else None,
        contact=contact.id if contact else None,
        deal=deal.id if deal else None,
        kind="reply",
        created_at=now,
    )
    return FetchedRow(
        message_id=key,
        sender=address,
        subject=subject,
        contact_id=contact.id if contact else None,
        lead_id=lead.id if lead else None,
        deal_id=deal.id if deal else None,
        new_lead=new_lead,
        interaction_id=item.id,
        task_id=task.id,
        attachments=[p.name for p in saved],
    )


def _contact_by_email(address: str) -> Contact | None:
    channel = (
        ContactChannel.select(ContactChannel.contact)
        .where((ContactChannel.kind == "email") & (fn.LOWER(ContactChannel.value) == address))
        .order_by(ContactChannel.id)
        .first()
    )
    return Contact.get_by_id(channel.contact_id) if channel else None


def _new_lead(name: str, address: str, subject: str, *, now: datetime, by: int | None) -> Lead:
    shown = _one_line(name)[:300] or address or "unknown sender"
    lead = Lead.create(
        name=shown,
        phone="",
        email=address or None,
        comment=subject,
        utm_source="email",
        owner=by,
        created_at=now,
        status="new",
    )
    index.upsert("lead", lead.id, index.make_body(lead.name, lead.email))
    return lead


def _date(message: EmailMessage) -> datetime | None:
    from email.utils import parsedate_to_datetime

    raw = message.get("Date")
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is not None:
        from datetime import UTC

        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


_UNSAFE = re.compile(r"[^\w.\- ()\[\]+]", re.UNICODE)


def safe_name(name: str) -> str:
    """A file name that stays in its folder: no path, no leading dot, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:150] or "attachment"


def _save_attachments(message: EmailMessage, fetched_id: int, now: datetime) -> list[Path]:
    saved: list[Path] = []
    folder = attachments_root() / f"{now:%Y-%m}"
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{fetched_id}-{safe_name(part.get_filename() or 'attachment')}"
        n = 2
        while target.exists():
            target = folder / f"{fetched_id}-{n}-{safe_name(part.get_filename() or 'attachment')}"
            n += 1
        target.write_bytes(data)
        saved.append(target)
    return saved
