"""Sending e-mail to a client: compose from a template, send over SMTP, log it on the card.

A message is composed (:func:`compose`) in the client's language from a template, with its attachments;
nothing is written yet, so a dry run or a refusal (no address, a broken template, no mailbox set up)
leaves the desk as it was. :func:`send` then keeps the composed message in the ``outbox`` table *before*
talking to the server, so a refusal, a network error or a crash never loses it. When the server accepts
it, the outbox row is marked sent and the ``email_out`` interaction (subject, body, attachment names)
is written on the contact, the deal and the lead in one transaction. When it does not, the row keeps
the error and the time of the next try: :func:`retry` (``crm mail outbox --retry``, ``crm remind``)
sends what is due, backing off 5 min, 10, 20... up to 6 h between tries, and gives up after
:data:`MAX_ATTEMPTS` (the message stays listed as failed, and can be retried by hand).
"""

from __future__ import annotations

import json
import mimetypes
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from crm_tui.data.db import database
from crm_tui.data.mail_models import OutboxMessage
from crm_tui.data.models import Contact, ContactChannel, Deal, Lead, User
from crm_tui.services import interactions, mail_config, mail_templates
from crm_tui.services.errors import CrmError, InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import normalize_email
from crm_tui.services.views import format_money

MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
CLAIM = timedelta(minutes=10)  # a retry in flight holds its message this long
TIMEOUT = 30.0
MAX_ATTACHMENT = 25 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    mime: str


@dataclass(frozen=True)
class Draft:
    to: str
    sender: str
    subject: str
    body: str
    lang: str
    template: str
    attachments: tuple[Attachment, ...] = ()
    contact_id: int | None = None
    deal_id: int | None = None
    lead_id: int | None = None
    doc_id: int | None = None  # a desk document attached: marked sent with the mail

    @property
    def attachment_names(self) -> list[str]:
        return [a.name for a in self.attachments]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    to: str
    subject: str
    status: str  # pending | sent | failed
    attempts: int
    error: str
    error_code: str
    next_try_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    contact_id: int | None
    deal_id: int | None
    interaction_id: int | None


@dataclass
class SendResult:
    outbox_id: int
    sent: bool
    error: str = ""
    error_code: str = ""
    interaction_id: int | None = None
    message_id: str = ""


@dataclass
class RetryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[SendResult] = field(default_factory=list)


class MailError(CrmError):
    """The server did not take the message (refused it, or could not be reached)."""

    title = "Mail not sent"
    code = "mail.send_failed"


# --- composing -------------------------------------------------------------------------------------


def client_lang(name: str, company: str = "") -> str:
    """The client's language: Russian for a Cyrillic name or company, else English."""
    text = f"{name} {company}"
    return "ru" if any("\u0400" <= c <= "\u04ff" for c in text) else "en"


def contact_email(contact_id: int) -> str | None:
    row = (
        ContactChannel.select(ContactChannel.value)
        .where((ContactChannel.contact == contact_id) & (ContactChannel.kind == "email"))
        .order_by(ContactChannel.position, ContactChannel.id)
        .first()
    )
    return str(row.value) if row else None


def file_attachment(path: str | Path) -> Attachment:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"cannot read the attachment {str(p)!r}: {error.strerror or error}",
            {"attach": "unreadable"},
            code="mail.attachment.unreadable",
            params={"path": str(p)},
        ) from error
    return _attachment(p.name, data)


def _attachment(name: str, data: bytes) -> Attachment:
    if len(data) > MAX_ATTACHMENT:
        raise InvalidInput(
            f"the attachment {name!r} is {len(data) // (1024 * 1024)} MB; at most 25 MB",
            {"attach": "too big"},
            code="mail.attachment.too_big",
            params={"name": name, "size": len(data), "max": MAX_ATTACHMENT},
        )
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Attachment(name=name, data=data, mime=mime)


def _documents() -> Any:
    try:
        from crm_tui.services import documents  # type: ignore[attr-defined]
    except ImportError as error:
        raise RuleViolation(
            "this crm has no documents to attach; attach a file with --attach FILE",
            code="mail.documents_unavailable",
        ) from error
    return documents


def document_attachment(doc_id: int) -> tuple[Attachment, dict[str, Any]]:
    """A desk document rendered to PDF, and what templates may say of it (``doc.number``...)."""
    documents = _documents()
    doc = documents.get(doc_id)
    data = documents.render(doc_id, "pdf")
    number = str(getattr(doc, "number", "") or doc_id)
    title = str(getattr(doc, "title", "") or getattr(doc, "kind", "") or "document")
    name = f"{title}-{number}.pdf".replace("/", "-").replace(" ", "-")
    return _attachment(name, data), {"title": title, "number": number, "file": name}


def _client_lang(contact: Contact | None, name: str, company: str, doc: Any) -> str:
    """The document's language, else the contact's tag (``en``/``ru``, as documents read it), else
    Russian for a Cyrillic name or company."""
    if doc is not None and getattr(doc, "lang", None) in ("en", "ru"):
        return str(doc.lang)
    if contact is not None:
        try:
            from crm_tui.services import documents  # type: ignore[attr-defined]
        except ImportError:
            documents = None
        tagged = documents.client_lang(contact) if documents is not None else None
        if tagged in ("en", "ru"):
            return str(tagged)
    return client_lang(name, company)


def compose(
    *,
    template: str,
    contact_id: int | None = None,
    deal_id: int | None = None,
    to: str | None = None,
    lang: str | None = None,
    doc_id: int | None = None,
    files: tuple[str, ...] = (),
    by: int | None = None,
) -> Draft:
    """The message to a contact (or a deal's contact) from a template; reads only, writes nothing.

    With ``doc_id`` the document (rendered to PDF) is attached, the mail is about its deal, and it is
    in the document's language; the document is marked sent when the server takes the mail."""
    doc = _documents().get(doc_id) if doc_id is not None else None
    if doc is not None and deal_id is None and contact_id is None:
        deal_id = int(doc.deal_id)
    if (contact_id is None) == (deal_id is None):
        raise InvalidInput(
            "say who the mail is for: --contact ID or --deal ID (one of them)",
            {"contact": "required"},
            code="mail.no_target",
        )
    deal = None
    if deal_id is not None:
        deal = Deal.get_or_none(Deal.id == deal_id)
        if deal is None:
            raise NotFound(f"No deal #{deal_id}", code="deal.not_found", params={"id": deal_id})
        contact_id = deal.contact_id
    contact = Contact.get_or_none(Contact.id == contact_id) if contact_id is not None else None
    if contact_id is not None and contact is None:
        raise NotFound(f"No contact #{contact_id}", code="contact.not_found", params={"id": contact_id})
    lead = None
    if deal is not None and deal.lead_id:
        lead = Lead.get_or_none(Lead.id == deal.lead_id)
    elif contact is not None:
        lead = Lead.select().where(Lead.contact == contact.id).order_by(Lead.id.desc()).first()
    name = contact.name if contact else (lead.name if lead else "")
    company = ""
    if contact is not None and contact.company_id:
        company = contact.company.name
    elif deal is not None and deal.company_id:
        company = deal.company.name
    elif lead is not None:
        company = lead.company_name
    address = (to or "").strip()
    if address:
        address = normalize_email(address) or ""
    else:
        found = contact_email(contact.id) if contact else None
        address = found or (lead.email if lead and lead.email else "") or ""
    if not address:
        who = f"contact #{contact.id}" if contact else f"deal #{deal_id}"
        raise RuleViolation(
            f"{who} has no e-mail address: add one to the contact or give --to ADDRESS",
            code="mail.no_address",
            params={"contact": contact.id if contact else None, "deal": deal_id},
        )
    if deal is None and doc is not None:
        deal = Deal.get_or_none(Deal.id == doc.deal_id)
    chosen = lang or _client_lang(contact, name, company, doc)
    attachments: list[Attachment] = []
    doc_context: dict[str, Any] | None = None
    if doc_id is not None:
        attachment, doc_context = document_attachment(doc_id)
        attachments.append(attachment)
    attachments.extend(file_attachment(f) for f in files)
    if doc_context is None and attachments:
        doc_context = {"title": attachments[0].name, "number": "", "file": attachments[0].name}
    manager = ""
    if by is not None:
        user = User.get_or_none(User.id == by)
        manager = user.name if user else ""
    sender = mail_config.sender()
    context: dict[str, Any] = {
        "client": name,
        "company": company,
        "deal": _deal_context(deal),
        "doc": doc_context,
        "manager": manager or parseaddr(sender)[0] or sender,
        "tasks": [],
        "task": None,
    }
    rendered = mail_templates.render(template, chosen, context)
    return Draft(
        to=address,
        sender=sender,
        subject=rendered.subject,
        body=rendered.body,
        lang=chosen,
        template=template,
        attachments=tuple(attachments),
        contact_id=contact.id if contact else None,
        deal_id=deal.id if deal else None,
        lead_id=lead.id if lead else None,
        doc_id=doc_id,
    )


def _deal_context(deal: Deal | None) -> dict[str, Any] | None:
    if deal is None:
        return None
    return {
        "title": deal.title,
        "number": deal.id,
        "amount": format_money(deal.amount, deal.currency) if deal.amount else "",
        "currency": deal.currency,
    }


def build_message(draft: Draft, *, now: datetime, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = draft.sender
    message["To"] = draft.to
    message["Subject"] = draft.subject
    message["Date"] = format_datetime(now.replace(tzinfo=None), usegmt=False)
    domain = parseaddr(draft.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = message_id or make_msgid(domain=domain)
    message.set_content(draft.body)
    for a in draft.attachments:
        maintype, _, subtype = a.mime.partition("/")
        message.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.name)
    return message


# --- sending ---------------------------------------------------------------------------------------


def connect(server: mail_config.Server | None = None) -> smtplib.SMTP:
    """A logged-in SMTP connection to the desk's server (TLS verified against the system's CAs)."""
    server = server or mail_config.server("smtp")
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.security == "ssl":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        if server.security == "starttls":
            client.starttls(context=context)
    if server.user:
        secret = server.password()
        if secret is None:
            client.close()
            raise _no_password()
        client.login(server.user, secret)
    return client


def _no_password() -> RuleViolation:
    return RuleViolation(
        "no SMTP password: set CRM_SMTP_PASSWORD (or store it in the system keyring)",
        code="mail.no_password",
        params={"kind": "smtp"},
    )


def _failure(error: BaseException) -> tuple[str, str]:
    """``(message, code)`` of a failed delivery."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (f"the SMTP server refused the login ({error.smtp_code})", "mail.auth_failed")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in error.recipients.items())
        return (f"the SMTP server refused the recipient ({codes})", "mail.refused")
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else ""
        return (f"the SMTP server refused the message: {error.smtp_code} {text}".strip(), "mail.refused")
    if isinstance(error, ssl.SSLError):
        return (f"TLS failed with the SMTP server: {error.reason or error}", "mail.tls_failed")
    if isinstance(error, socket.timeout | TimeoutError):
        return ("the SMTP server did not answer in time", "mail.unreachable")
    if isinstance(error, OSError | smtplib.SMTPException):
        return (f"cannot reach the SMTP server: {error}", "mail.unreachable")
    return (str(error), "mail.send_failed")


def _keep(draft: Draft, message: EmailMessage, *, by: int | None, now: datetime) -> int:
    with database.atomic():
        row = OutboxMessage.create(
            recipient=draft.to,
            subject=draft.subject,
            raw=message.as_string(policy=SMTP_POLICY),
            template=draft.template,
            attachments=json.dumps(draft.attachment_names, ensure_ascii=False),
            contact=draft.contact_id,
            deal=draft.deal_id,
            lead=draft.lead_id,
            doc_id=draft.doc_id,
            by=by,
            created_at=now,
            attempts=1,  # claimed by this send already: one transaction before the server is asked
            next_try_at=now + CLAIM,
        )
    return int(row.id)


def send(draft: Draft, *, by: int | None, now: datetime, client: smtplib.SMTP | None = None) -> SendResult:
    """Keep the message in the outbox, send it, and log it when the server accepts it.

    The server is checked before anything is written (a desk with no mailbox set up is refused, nothing
    kept). ``client``: an open connection to reuse (many messages in a row).
    """
    server = mail_config.server("smtp")
    if server.user and server.password() is None:
        raise _no_password()
    message = build_message(draft, now=now)
    outbox_id = _keep(draft, message, by=by, now=now)
    return _attempt(outbox_id, now=now, server=server, client=client, claimed=True)


def _claim(outbox_id: int, now: datetime, *, force: bool) -> bool:
    """Take the message for one try: whoever updates the row first sends it, nobody else does."""
    due = OutboxMessage.sent_at.is_null() & (OutboxMessage.id == outbox_id)
    if not force:
        due &= OutboxMessage.next_try_at.is_null(False) & (OutboxMessage.next_try_at <= now)
    with database.atomic():
        taken = (
            OutboxMessage.update(attempts=OutboxMessage.attempts + 1, next_try_at=now + CLAIM)
            .where(due)
            .execute()
        )
    return bool(taken)


def _attempt(
    outbox_id: int,
    *,
    now: datetime,
    server: mail_config.Server,
    client: smtplib.SMTP | None = None,
    force: bool = True,
    claimed: bool = False,
) -> SendResult:
    if not claimed and not _claim(outbox_id, now, force=force):
        return SendResult(outbox_id, sent=False, error="already being sent", error_code="mail.busy")
    row = OutboxMessage.get_by_id(outbox_id)
    recipient = parseaddr(row.recipient)[1]
    sender = parseaddr(_header(row.raw, "From"))[1]
    try:
        own = client is None
        smtp = connect(server) if own else client
        assert smtp is not None
        try:
            smtp.sendmail(sender, [recipient], row.raw.encode("utf-8"))
        finally:
            if own:
                _quit(smtp)
    except CrmError as error:
        return _failed(row, error.message, error.code, now)
    except (OSError, smtplib.SMTPException) as error:
        message, code = _failure(error)
        return _failed(row, message, code, now)
    return _acknowledge(row, now)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _header(raw: str, name: str) -> str:
    from email.parser import HeaderParser

    return str(HeaderParser().parsestr(raw, headersonly=True).get(name, ""))


def _acknowledge(row: OutboxMessage, now: datetime) -> SendResult:
    """The server took it: mark it sent and log ``email_out`` on the card, in one transaction."""
    from email import message_from_string
    from email.policy import default

    parsed = message_from_string(row.raw, policy=default)
    body_part = parsed.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""  # type: ignore[union-attr]
    message_id = str(parsed.get("Message-ID", ""))
    names = json.loads(row.attachments or "[]")
    with database.atomic():
        item = interactions.log(
            "email_out",
            by=row.by_id,
            now=now,
            lead_id=row.lead_id,
            contact_id=row.contact_id,
            deal_id=row.deal_id,
            subject=row.subject,
            summary=body[:20000],
            data={
                "to": row.recipient,
                "message_id": message_id,
                "attachments": names,
                "template": row.template,
                "outbox": row.id,
            },
        )
        OutboxMessage.update(
            sent_at=now, next_try_at=None, last_error="", error_code="", interaction_id=item.id
        ).where(OutboxMessage.id == row.id).execute()
        if row.doc_id is not None:
            _documents().mark_sent(row.doc_id, by=row.by_id, now=now)
    return SendResult(row.id, sent=True, interaction_id=item.id, message_id=message_id)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 5 min, 10, 20, 40... at most 6 h."""
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _failed(row: OutboxMessage, message: str, code: str, now: datetime) -> SendResult:
    attempts = int(OutboxMessage.get_by_id(row.id).attempts)
    next_try = now + backoff(attempts) if attempts < MAX_ATTEMPTS else None
    with database.atomic():
        OutboxMessage.update(last_error=message[:2000], error_code=code, next_try_at=next_try).where(
            OutboxMessage.id == row.id
        ).execute()
    return SendResult(row.id, sent=False, error=message, error_code=code)


def retry(*, now: datetime, force: bool = False, ids: tuple[int, ...] = ()) -> RetryReport:
    """Send the outbox's messages that are due (all unsent ones with ``force``, or just ``ids``)."""
    report = RetryReport()
    query = OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.sent_at.is_null())
    if ids:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    elif not force:
        query = query.where(OutboxMessage.next_try_at.is_null(False) & (OutboxMessage.next_try_at <= now))
    due = [r.id for r in query.order_by(OutboxMessage.id)]
    if not due:
        return report
    server = mail_config.server("smtp")
    for outbox_id in due:
        result = _attempt(outbox_id, now=now, server=server, force=force or bool(ids))
        if result.sent:
            report.sent.append(outbox_id)
        elif result.error_code != "mail.busy":
            report.failed.append(result)
    return report


def outbox(*, include_sent: bool = False, limit: int = 100) -> list[OutboxRow]:
    query = OutboxMessage.select()
    if not include_sent:
        query = query.where(OutboxMessage.sent_at.is_null())
    return [_row(r) for r in query.order_by(OutboxMessage.id.desc()).limit(limit)]


def _row(r: OutboxMessage) -> OutboxRow:
    if r.sent_at is not None:
        status = "sent"
    elif r.next_try_at is None:
        status = "failed"
    else:
        status = "pending"
    return OutboxRow(
        id=r.id,
        to=r.recipient,
        subject=r.subject,
        status=status,
        attempts=r.attempts,
        error=r.last_error,
        error_code=r.error_code,
        next_try_at=r.next_try_at,
        created_at=r.created_at,
        sent_at=r.sent_at,
        contact_id=r.contact_id,
        deal_id=r.deal_id,
        interaction_id=r.interaction_id,
    )


def outbox_row(outbox_id: int) -> OutboxRow:
    found = OutboxMessage.get_or_none(OutboxMessage.id == outbox_id)
    if found is None:
        raise NotFound(f"No outbox message #{outbox_id}", code="outbox.not_found", params={"id": outbox_id})
    return _row(found)
