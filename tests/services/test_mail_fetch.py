"""Fetching the desk mailbox from a real IMAP server (Debian's dovecot): each message onto its card."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from crm_tui.data.mail_models import FetchedMail
from crm_tui.data.models import ContactChannel, Interaction, Lead, Task
from crm_tui.services import mail_fetch
from crm_tui.services.errors import RuleViolation
from tests.conftest import Counts, Desk
from tests.mail_servers import ImapServer, point_desk_at

pytestmark = pytest.mark.imap


def letter(
    sender: str, subject: str, body: str, *, message_id: str, attach: tuple[str, bytes] | None = None
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "sales@example.org"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 12:30:00 +0300"
    message["Message-ID"] = message_id
    message.set_content(body)
    if attach is not None:
        message.add_attachment(attach[1], maintype="application", subtype="pdf", filename=attach[0])
    return message.as_bytes()


def test_a_reply_from_a_contact_lands_on_the_card_with_a_task_and_its_attachment(
    desk: Desk, imap: ImapServer, db_path: Path
) -> None:
    assert ContactChannel.select().where(ContactChannel.value == "petr@vector.ru").exists()
    point_desk_at(imap_port=imap.port)
    imap.deliver(
        letter(
            "Пётр Сидоров <Petr@Vector.ru>",
            "Re: Коммерческое предложение",
            "Согласны, выставляйте счёт.",
            message_id="<reply-1@vector.ru>",
            attach=("реквизиты.pdf", b"%PDF-1.4\n%%EOF\n"),
        )
    )
    report = mail_fetch.fetch(now=desk.now, by=desk.admin_id)

    [row] = report.messages
    assert (row.contact_id, row.deal_id, row.lead_id, row.new_lead) == (
        desk.contact_id,
        desk.deal_id,
        desk.converted_lead_id,
        False,
    )
    item = Interaction.get_by_id(row.interaction_id)
    assert item.kind == "email_in" and item.subject == "Re: Коммерческое предложение"
    assert "Согласны" in item.summary
    assert item.at.hour == 9  # 12:30 Moscow is 09:30 UTC
    saved = Path(json.loads(item.data)["files"][0])
    assert saved.parent.parent == db_path.parent / "attachments"
    assert saved.name.endswith("реквизиты.pdf") and saved.read_bytes().startswith(b"%PDF")
    task = Task.get_by_id(row.task_id)
    assert task.title == "Reply to Пётр Сидоров" and task.assignee_id == desk.manager_id
    assert task.contact_id == desk.contact_id


def test_an_unknown_sender_becomes_an_email_lead(desk: Desk, imap: ImapServer) -> None:
    point_desk_at(imap_port=imap.port)
    imap.deliver(
        letter("Ольга <olga@newclient.ru>", "Нужна CRM", "Сколько стоит?", message_id="<q@newclient.ru>")
    )
    [row] = mail_fetch.fetch(now=desk.now, by=desk.admin_id).messages
    lead = Lead.get_by_id(row.lead_id)
    assert row.new_lead and (lead.name, lead.email, lead.phone, lead.utm_source) == (
        "Ольга",
        "olga@newclient.ru",
        "",
        "email",
    )
    assert Task.get_by_id(row.task_id).title == "Reply to Ольга"
    assert Interaction.get_by_id(row.interaction_id).lead_id == lead.id


def test_a_message_is_never_logged_twice(desk: Desk, imap: ImapServer, counts: Counts) -> None:
    point_desk_at(imap_port=imap.port)
    imap.deliver(letter("ivan@example.ru", "Вопрос", "Перезвоните", message_id="<once@example.ru>"))
    assert len(mail_fetch.fetch(now=desk.now, by=None).messages) == 1
    before = counts()
    assert mail_fetch.fetch(now=desk.now, by=None).messages == []
    imap.deliver(letter("ivan@example.ru", "Вопрос", "Перезвоните", message_id="<once@example.ru>"))  # a copy
    again = mail_fetch.fetch(now=desk.now, by=None)
    assert again.messages == [] and again.skipped == 1
    assert counts() == before
    assert FetchedMail.select().count() == 1
    lead_mail = Interaction.get(Interaction.kind == "email_in")
    assert lead_mail.lead_id == desk.new_lead_id  # matched by the lead's e-mail


def test_a_wrong_password_is_refused_and_nothing_is_written(
    desk: Desk, imap: ImapServer, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_desk_at(imap_port=imap.port)
    imap.deliver(letter("ivan@example.ru", "x", "y", message_id="<x@example.ru>"))
    monkeypatch.setenv("CRM_IMAP_PASSWORD", "wrong")
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        mail_fetch.fetch(now=desk.now, by=None)
    assert refused.value.code == "mail.auth_failed"
    assert counts() == before


def test_attachment_names_cannot_leave_their_folder() -> None:
    assert mail_fetch.safe_name("../../etc/passwd") == "passwd"
    assert mail_fetch.safe_name("..") == "attachment"
    assert mail_fetch.safe_name("C:\\x\\счёт.pdf") == "счёт.pdf"


def test_leads_from_email_are_not_duplicates_of_each_other_and_convert_without_a_phone(
    desk: Desk, imap: ImapServer
) -> None:
    from crm_tui.services import contacts, leads

    point_desk_at(imap_port=imap.port)
    imap.deliver(letter("a@one.example.org", "Hi", "one", message_id="<1@one>"))
    imap.deliver(letter("b@two.example.org", "Hi", "two", message_id="<2@two>"))
    first, second = mail_fetch.fetch(now=desk.now, by=desk.admin_id).messages
    flags = leads.duplicate_flags(
        [{"id": r.lead_id, "phone": "", "email": r.sender, "contact": None} for r in (first, second)]
    )
    assert flags == {first.lead_id: False, second.lead_id: False}
    assert leads.duplicates(first.lead_id) == []
    converted = leads.convert(first.lead_id, by=desk.admin_id, now=desk.now, qualify_first=True)
    card = contacts.card(converted.contact_id)
    assert card.phones == [] and card.emails == ["a@one.example.org"]
    assert converted.contact_id != desk.contact_id
