"""Sending a client an e-mail from a template: over a real SMTP server (STARTTLS + AUTH), logged on the
card, kept in the outbox when the server does not take it."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email.policy import default
from pathlib import Path

import pytest
from peewee import Database

from crm_tui.data.mail_models import OutboxMessage
from crm_tui.data.models import Interaction
from crm_tui.services import mail, mail_templates, settings
from crm_tui.services.errors import CrmError, InvalidInput, RuleViolation
from tests.conftest import Counts, Desk
from tests.mail_servers import SmtpServer, point_desk_at


@pytest.fixture
def db(any_db: Database) -> Database:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_db


def _received(server: SmtpServer, n: int = 0) -> email.message.EmailMessage:
    message = email.message_from_bytes(server.received[n].content, policy=default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_proposal_goes_out_in_the_clients_language_and_lands_on_the_card(
    desk: Desk, smtp: SmtpServer, tmp_path: Path
) -> None:
    point_desk_at(smtp.port)
    pdf = tmp_path / "КП-17.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    draft = mail.compose(template="proposal", deal_id=desk.deal_id, files=(str(pdf),), by=desk.manager_id)
    assert draft.lang == "ru" and draft.to == "petr@vector.ru"
    result = mail.send(draft, by=desk.manager_id, now=desk.now)

    assert result.sent
    got = _received(smtp)
    assert got["To"] == "petr@vector.ru"
    assert got["Subject"].startswith("Коммерческое предложение")
    assert "Пётр Сидоров, добрый день!" in got.get_body(("plain",)).get_content()
    assert "150 000 ₽" in got.get_body(("plain",)).get_content()
    assert [(p.get_content_type(), p.get_filename()) for p in got.iter_attachments()] == [
        ("application/pdf", "КП-17.pdf")
    ]
    item = Interaction.get_by_id(result.interaction_id)
    assert (item.kind, item.contact_id, item.deal_id, item.lead_id) == (
        "email_out",
        desk.contact_id,
        desk.deal_id,
        desk.converted_lead_id,
    )
    assert item.subject == got["Subject"]
    assert "Анна Петрова" in item.summary
    assert json.loads(item.data)["attachments"] == ["КП-17.pdf"]
    assert mail.outbox() == []


def test_an_english_client_gets_the_english_template(desk: Desk, smtp: SmtpServer) -> None:
    point_desk_at(smtp.port)
    draft = mail.compose(
        template="follow-up", contact_id=desk.contact_id, to="maria@example.org", lang="en", by=desk.admin_id
    )
    assert draft.subject == "Following up"
    assert mail.client_lang("Maria Ivanova") == "en" and mail.client_lang("Мария") == "ru"


def test_a_refused_recipient_is_kept_in_the_outbox_with_the_error_and_not_logged(
    desk: Desk, smtp: SmtpServer
) -> None:
    point_desk_at(smtp.port)
    draft = mail.compose(template="invoice", deal_id=desk.deal_id, to="refuse@example.org")
    result = mail.send(draft, by=desk.manager_id, now=desk.now)

    assert not result.sent and result.error_code == "mail.refused"
    assert "550" in result.error
    [row] = mail.outbox()
    assert (row.status, row.attempts, row.next_try_at) == ("pending", 1, desk.now + timedelta(minutes=5))
    assert not Interaction.select().where(Interaction.kind == "email_out").exists()


def test_the_outbox_retries_with_back_off_and_logs_once_sent(desk: Desk, smtp: SmtpServer) -> None:
    point_desk_at(smtp.port)
    smtp.stop()  # the server is down
    draft = mail.compose(template="act", deal_id=desk.deal_id)
    first = mail.send(draft, by=desk.manager_id, now=desk.now)
    assert first.error_code == "mail.unreachable"

    assert mail.retry(now=desk.now + timedelta(minutes=4)).failed == []  # not due yet: not tried
    assert mail.outbox()[0].attempts == 1
    later = mail.retry(now=desk.now + timedelta(minutes=5))
    assert [f.error_code for f in later.failed] == ["mail.unreachable"]
    assert mail.outbox()[0].next_try_at == desk.now + timedelta(minutes=15)  # 5, then 10 more

    smtp.start()  # back up
    done = mail.retry(now=desk.now + timedelta(minutes=15))
    assert done.sent == [first.outbox_id] and done.failed == []
    assert len(smtp.received) == 1
    assert Interaction.select().where(Interaction.kind == "email_out").count() == 1
    assert mail.outbox() == [] and mail.outbox(include_sent=True)[0].status == "sent"


def test_back_off_doubles_up_to_six_hours() -> None:
    assert [mail.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (5, 10, 20)]
    assert mail.backoff(20) == timedelta(hours=6)


def test_a_wrong_password_is_an_error_kept_in_the_outbox(
    desk: Desk, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_desk_at(smtp.port)
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "wrong")
    result = mail.send(mail.compose(template="act", deal_id=desk.deal_id), by=None, now=desk.now)
    assert result.error_code == "mail.auth_failed" and "535" in result.error
    assert smtp.received == []


def test_refusals_write_nothing(
    desk: Desk, smtp: SmtpServer, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts()
    with pytest.raises(RuleViolation) as not_set_up:
        mail.send(
            mail.compose(template="act", deal_id=desk.deal_id, to="a@example.org"), by=None, now=desk.now
        )
    assert not_set_up.value.code in ("mail.no_sender", "mail.not_configured")
    point_desk_at(smtp.port)
    before = counts()
    with pytest.raises(RuleViolation) as no_address:
        mail.compose(template="act", contact_id=_contact_without_email(desk))
    assert no_address.value.code == "mail.no_address"
    with pytest.raises(CrmError) as unknown:
        mail.compose(template="nonesuch", deal_id=desk.deal_id)
    assert unknown.value.code == "template.not_found"
    with pytest.raises(InvalidInput) as bad_to:
        mail.compose(template="act", deal_id=desk.deal_id, to="not an address")
    assert bad_to.value.code == "email.invalid"
    monkeypatch.delenv("CRM_SMTP_PASSWORD")
    before = counts()  # the contact without an e-mail above is the test's own
    with pytest.raises(RuleViolation) as no_password:
        mail.send(mail.compose(template="act", deal_id=desk.deal_id), by=None, now=desk.now)
    assert no_password.value.code == "mail.no_password" and "CRM_SMTP_PASSWORD" in no_password.value.message
    assert counts() == before
    settings.put("mail.smtp.host", "smtp.example.org")
    settings.put("mail.smtp.security", "none")
    before = counts()
    with pytest.raises(RuleViolation) as insecure:
        mail.send(mail.compose(template="act", deal_id=desk.deal_id), by=None, now=desk.now)
    assert insecure.value.code == "mail.insecure"
    assert counts() == before and smtp.received == []


def _contact_without_email(desk: Desk) -> int:
    from crm_tui.data.models import Contact

    return int(Contact.create(name="Без почты", created_at=desk.now).id)


def test_a_broken_template_names_its_line_and_sends_nothing(
    desk: Desk, smtp: SmtpServer, counts: Counts
) -> None:
    point_desk_at(smtp.port)
    with pytest.raises(InvalidInput) as syntax:
        mail_templates.put(
            "proposal", "ru", "Subject: КП\n\nДобрый день,\n{% if client %}\n", by=None, now=desk.now
        )
    assert syntax.value.code == "template.error" and syntax.value.params["line"] == 4
    mail_templates.put(
        "proposal", "ru", "Subject: КП\n\nДобрый день,\n{{ client.nope.deeper }}\n", by=None, now=desk.now
    )
    before = counts()
    with pytest.raises(InvalidInput) as runtime:
        mail.compose(template="proposal", deal_id=desk.deal_id)
    assert runtime.value.params["line"] == 4 and "line 4" in runtime.value.message
    assert counts() == before and smtp.received == []


def test_templates_run_in_a_sandbox(desk: Desk) -> None:
    source = "Subject: x\n\n{{ client.__class__.__mro__[1].__subclasses__() }}\n"
    with pytest.raises(InvalidInput) as escape:
        mail_templates.render_source(source, {"client": "Иван"})
    assert escape.value.code == "template.error" and escape.value.params["line"] == 3


def test_the_desks_own_template_overrides_the_shipped_one(desk: Desk) -> None:
    mail_templates.put(
        "act", "en", "Subject: Our act for {{ client }}\n\nHi!\n", by=desk.admin_id, now=desk.now
    )
    rows = {(r.name, r.lang): r for r in mail_templates.list_all()}
    assert rows[("act", "en")].own and not rows[("act", "ru")].own
    assert mail_templates.render("act", "en", {"client": "Maria"}).subject == "Our act for Maria"
    assert mail_templates.reset("act", "en")
    assert mail_templates.render(
        "act", "en", {"client": "Maria", "doc": None, "deal": None, "manager": "A"}
    ).subject == ("Acceptance certificate")


def test_every_shipped_template_renders_in_both_languages(desk: Desk) -> None:
    context = {
        "client": "Пётр",
        "company": "АО Вектор",
        "deal": {"title": "Поставка", "amount": "150 000 ₽", "number": 1, "currency": "RUB"},
        "doc": {"title": "Счёт", "number": "17", "file": "x.pdf"},
        "manager": "Анна",
        "tasks": [{"title": "Позвонить", "due": "2026-03-02 10:00"}],
        "task": None,
    }
    for name in mail_templates.NAMES:
        for lang in ("en", "ru"):
            rendered = mail_templates.render(name, lang, context)
            assert rendered.subject and rendered.body.strip(), (name, lang)
    assert OutboxMessage.select().count() == 0


def test_a_document_is_attached_rendered_in_its_language_and_marked_sent(
    desk: Desk, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the documents service's interface (``get``, ``render``, ``mark_sent``, ``client_lang``),
    stood in for where this crm has none; the real one replaces it when it is there."""
    import sys
    import types
    from dataclasses import dataclass

    @dataclass
    class Doc:
        id: int
        deal_id: int
        kind: str
        number: int
        lang: str

    marked: list[int] = []
    stand_in = types.ModuleType("crm_tui.services.documents")
    stand_in.get = lambda doc_id: Doc(doc_id, desk.deal_id, "invoice", 17, "en")  # type: ignore[attr-defined]
    stand_in.render = lambda doc_id, fmt="pdf": b"%PDF-1.4 invoice\n%%EOF\n"  # type: ignore[attr-defined]
    stand_in.client_lang = lambda contact: None  # type: ignore[attr-defined]
    stand_in.mark_sent = lambda doc_id, *, by, now: marked.append(doc_id)  # type: ignore[attr-defined]
    if "crm_tui.services.documents" not in sys.modules:
        monkeypatch.setitem(sys.modules, "crm_tui.services.documents", stand_in)
    else:
        pytest.skip("the real documents service is here: its own tests cover this path")
    point_desk_at(smtp.port)
    draft = mail.compose(template="invoice", doc_id=5, by=desk.manager_id)
    assert (draft.deal_id, draft.lang, draft.subject) == (desk.deal_id, "en", "Invoice 17 for АО Вектор")
    result = mail.send(draft, by=desk.manager_id, now=desk.now)
    assert result.sent and marked == [5]
    got = _received(smtp)
    assert [(p.get_filename(), p.get_content()) for p in got.iter_attachments()] == [
        ("invoice-17.pdf", b"%PDF-1.4 invoice\n%%EOF\n")
    ]
