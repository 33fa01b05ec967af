"""``crm mail send|outbox|fetch`` and ``crm template list|show|edit|import`` against real servers."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from crm_tui.data.mail_models import OutboxMessage
from crm_tui.data.models import Interaction
from tests.cli.conftest import Crm
from tests.conftest import Counts, Desk
from tests.mail_servers import ImapServer, SmtpServer, point_desk_at


def test_send_prints_what_went_out_and_logs_it(
    crm: Crm, desk: Desk, smtp: SmtpServer, tmp_path: Path
) -> None:
    point_desk_at(smtp.port)
    invoice = tmp_path / "invoice-17.pdf"
    invoice.write_bytes(b"%PDF-1.4\n%%EOF\n")
    run = crm("mail", "send", "--deal", str(desk.deal_id), "--template", "invoice", "--attach", str(invoice))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("sent to petr@vector.ru (outbox #")
    assert lines[1:4] == [
        "To: petr@vector.ru",
        "Subject: Счёт по сделке «АО Вектор»",
        "Attachments: invoice-17.pdf",
    ]
    got = message_from_bytes(smtp.received[0].content, policy=default)
    assert [p.get_filename() for p in got.iter_attachments()] == ["invoice-17.pdf"]
    assert Interaction.get(Interaction.kind == "email_out").deal_id == desk.deal_id


def test_dry_run_shows_the_message_and_writes_nothing(
    crm: Crm, desk: Desk, smtp: SmtpServer, counts: Counts
) -> None:
    point_desk_at(smtp.port)
    before = counts()
    run = crm(
        "mail", "send", "--contact", str(desk.contact_id), "--template", "follow-up", "--lang", "en",
        "--dry-run", "--json",
    )  # fmt: skip
    assert run.code == 0, run.err
    data = run.json()
    assert (data["sent"], data["dry_run"], data["to"], data["subject"]) == (
        False,
        True,
        "petr@vector.ru",
        "Following up",
    )
    assert data["body"].startswith("Dear Пётр Сидоров,")
    assert counts() == before and smtp.received == []


def test_a_refused_send_is_one_error_line_and_the_message_waits_in_the_outbox(
    crm: Crm, desk: Desk, smtp: SmtpServer
) -> None:
    point_desk_at(smtp.port)
    run = crm("mail", "send", "--deal", str(desk.deal_id), "--template", "act", "--to", "later@example.org")
    assert "code=mail.refused" in run.error and "451" in run.error and "kept in the outbox as #1" in run.error
    outbox = crm("mail", "outbox", "--json")
    [row] = outbox.json()
    assert (row["status"], row["attempts"], row["to"], row["error_code"]) == (
        "pending",
        1,
        "later@example.org",
        "mail.refused",
    )
    human = crm("mail", "outbox")
    assert human.out.splitlines()[0].split() == [
        "#",
        "created",
        "to",
        "subject",
        "status",
        "tries",
        "next/sent",
        "error",
    ]
    forced = crm("mail", "outbox", "--retry", "--force")
    assert forced.code == 1 and "not sent: #1" in forced.out
    assert OutboxMessage.get_by_id(1).attempts == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--template", "act"), "say who the mail is for: --contact ID or --deal ID (one of them)"),
        (("--deal", "1"), "say which template: --template NAME (crm template list)"),
        (("--deal", "999", "--template", "act"), "No deal #999"),
        (("--deal", "1", "--template", "act", "--lang", "de"), "--lang must be en or ru, not 'de'"),
        (("--deal", "1", "--template", "act", "--attach", "/nonexistent.pdf"), "cannot read the attachment"),
        (("--retry", "--deal", "1"), "--retry sends the outbox; it takes no --contact, --deal or --template"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    crm: Crm, desk: Desk, smtp: SmtpServer, counts: Counts, args: tuple[str, ...], message: str
) -> None:
    point_desk_at(smtp.port)
    before = counts()
    run = crm("mail", "send", *args)
    assert run.error.startswith(message)
    assert counts() == before and smtp.received == []


def test_a_desk_without_a_mailbox_says_how_to_set_it_up(crm: Crm, desk: Desk, counts: Counts) -> None:
    before = counts()
    run = crm("mail", "send", "--deal", str(desk.deal_id), "--template", "act", "--to", "x@example.org")
    assert run.error == "the desk has no sender address: crm config set mail.from sales@example.org"
    fetch = crm("mail", "fetch")
    assert fetch.error == "the desk mailbox has no IMAP server: crm config set mail.imap.host HOST"
    assert counts() == before


@pytest.mark.imap
def test_fetch_prints_each_message_and_where_it_went(crm: Crm, desk: Desk, imap: ImapServer) -> None:
    from tests.services.test_mail_fetch import letter

    point_desk_at(imap_port=imap.port)
    imap.deliver(letter("petr@vector.ru", "Re: Счёт", "Оплатили", message_id="<paid@vector.ru>"))
    run = crm("mail", "fetch")
    assert run.code == 0, run.err
    assert run.out.startswith(f"from petr@vector.ru: 'Re: Счёт' -> contact #{desk.contact_id}, task #")
    assert crm("mail", "fetch").out == "no new mail\n"


def test_template_list_show_edit_import(crm: Crm, desk: Desk, tmp_path: Path, counts: Counts) -> None:
    listed = crm("template", "list", "--json").json()
    assert {(r["name"], r["lang"]) for r in listed} >= {("proposal", "ru"), ("auto-reply", "en")}
    assert len(listed) == 12 and not any(r["own"] for r in listed)
    shown = crm("template", "show", "act", "--lang", "ru")
    assert shown.out.startswith("Subject: Акт выполненных работ")

    mine = tmp_path / "proposal.ru.txt"
    mine.write_text("Subject: КП для {{ company }}\n\n{{ client }}, направляем КП.\n", encoding="utf-8")
    assert crm("template", "import", str(mine)).out == "proposal (ru) imported\n"
    assert crm("template", "show", "proposal", "--lang", "ru").out.startswith("Subject: КП для {{ company }}")

    broken = tmp_path / "invoice.en.txt"
    broken.write_text("Subject: Invoice\n\n{% for x in %}\n", encoding="utf-8")
    before = counts()
    refused = crm("template", "import", str(mine), str(broken))
    assert refused.error.startswith("invoice.en.txt: template error at line 3:")
    assert counts() == before

    edited = crm("template", "edit", "act", "--lang", "en", "--file", str(mine))
    assert edited.out == "act (en) saved: the desk's version is used from now on\n"
    assert (
        crm("template", "edit", "act", "--lang", "en", "--reset").out
        == "act (en): the shipped version again\n"
    )
    assert crm("template", "show", "nope").error.startswith("No template 'nope'; known: proposal, invoice")


def test_crm_remind_sends_the_outbox_when_the_server_is_back(crm: Crm, desk: Desk, smtp: SmtpServer) -> None:
    point_desk_at(smtp.port)
    smtp.stop()
    failed = crm("mail", "send", "--deal", str(desk.deal_id), "--template", "act")
    assert "code=mail.unreachable" in failed.error
    OutboxMessage.update(next_try_at=desk.now).execute()  # its back-off is over
    smtp.start()
    run = crm("remind", "--no-desktop")
    assert run.code == 0, run.err
    assert "note: mail: sent 1 from the outbox" in run.err
    assert len(smtp.received) == 1 and crm("mail", "outbox").out.startswith("the outbox is empty")
