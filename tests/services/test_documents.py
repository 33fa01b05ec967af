"""Documents from a deal's lines: numbered and versioned, a snapshot that later changes never alter,
the desk's requisites, VAT and the total in words in the PDF a client gets, template errors with
their line and no document.

Numbering and snapshots run on SQLite and PostgreSQL (``any_db``); the PDFs are read back as text.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from peewee import Database
from pypdf import PdfReader

from crm_tui.data.models import Contact
from crm_tui.services import deal_lines, deals, documents, products, settings
from crm_tui.services.errors import CrmError
from tests.conftest import NOW, Counts, Desk

LATER = NOW + timedelta(days=1)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.replace("\u00a0", " ").split())  # lines as one, whatever the wrapping


def requisites() -> None:
    for name, value in {
        "company.name": "ООО «Продажи Плюс»",
        "company.inn": "7701234567",
        "company.kpp": "770101001",
        "company.ogrn": "1027700132195",
        "company.bank": "ПАО Сбербанк",
        "company.bik": "044525225",
        "company.account": "40702810900000000001",
        "company.corr_account": "30101810400000000225",
        "company.director": "Иванов И. И.",
    }.items():
        settings.put(name, value)


def lines(desk: Desk) -> None:
    lic = products.add("Лицензия CRM (год)", "12 000", unit="шт")
    deal_lines.add(desk.deal_id, product_id=lic.id, quantity="5", by=desk.admin_id, now=NOW)
    deal_lines.add(desk.deal_id, text="Внедрение", price="60 000", vat="none", by=desk.admin_id, now=NOW)


def test_amount_in_words_russian_and_english() -> None:
    assert documents.amount_words(12_000_000, "RUB", "ru") == "Сто двадцать тысяч рублей 00 копеек"
    assert documents.amount_words(100_101, "RUB", "ru") == "Одна тысяча один рубль 01 копейка"
    assert documents.amount_words(200_202, "RUB", "ru") == "Две тысячи два рубля 02 копейки"
    assert documents.amount_words(12_000_005, "RUB", "en").startswith(
        "One hundred and twenty thousand roubles 05"
    )


def test_invoice_numbered_dated_with_requisites_vat_and_words(desk: Desk) -> None:
    requisites()
    lines(desk)
    doc = documents.new(desk.deal_id, "invoice", by=desk.admin_id, now=NOW)
    assert (doc.kind, doc.number, doc.version, doc.lang, doc.total) == ("invoice", 1, 1, "ru", 12_000_000)
    text = pdf_text(documents.render(doc.id, "pdf"))
    assert "Счёт на оплату № 1 от 02.03.2026" in text
    for said in (
        "ООО «Продажи Плюс»",
        "ИНН 7701234567",
        "КПП 770101001",
        "044525225",
        "40702810900000000001",
    ):
        assert said in text
    assert "1 Лицензия CRM (год) 5 шт 12 000,00 22% 60 000,00" in text
    assert "2 Внедрение 1 шт 60 000,00 без НДС 60 000,00" in text
    assert "В том числе НДС 22%: 10 819,67" in text  # 60 000 x 22 / 122
    assert "Всего к оплате: 120 000,00" in text
    assert "Сто двадцать тысяч рублей 00 копеек" in text
    assert "Руководитель" in text and "Иванов И. И." in text and "М.П." in text


def test_a_revision_is_version_2_and_a_later_change_alters_no_issued_one(desk: Desk) -> None:
    lines(desk)
    first = documents.new(desk.deal_id, "proposal", by=desk.admin_id, now=NOW)
    before = documents.render(first.id, "html")
    (line, _) = deal_lines.lines(desk.deal_id)
    deal_lines.edit(line.id, quantity="10", by=desk.admin_id, now=LATER)
    assert documents.render(first.id, "html") == before
    second = documents.new(desk.deal_id, "proposal", by=desk.admin_id, now=LATER)
    assert (second.number, second.version, second.total) == (first.number, 2, 18_000_000)
    assert "Сто восемьдесят тысяч рублей 00 копеек" in pdf_text(documents.render(second.id, "pdf"))
    assert "Сто двадцать тысяч рублей" in pdf_text(documents.render(first.id, "pdf"))
    other = deals.add("Другая сделка", contact_id=desk.contact_id, amount="1", by=desk.admin_id, now=NOW)
    deal_lines.add(other.id, text="Аудит", price="1000", by=desk.admin_id, now=NOW)
    assert documents.new(other.id, "proposal", by=desk.admin_id, now=NOW).number == first.number + 1
    documents.mark_sent(second.id, by=desk.admin_id, now=LATER)
    history = [e.text for e in deals.events(desk.deal_id) if e.kind == "document"]
    assert history[:3] == ["proposal 1 v2", "proposal 1 v2", "proposal 1 v1"]
    outcomes = [e.outcome for e in deals.events(desk.deal_id) if e.kind == "document"]
    assert outcomes[:3] == ["sent", "issued", "issued"]
    got = documents.get(second.id)
    assert (got.deal_id, got.kind, got.number, got.version, got.lang, got.sent_at) == (
        desk.deal_id,
        "proposal",
        1,
        2,
        "ru",
        LATER,
    )


def test_english_documents_for_an_english_speaking_client(desk: Desk) -> None:
    lines(desk)
    Contact.update(tags="english").where(Contact.id == desk.contact_id).execute()
    doc = documents.new(desk.deal_id, "act", by=desk.admin_id, now=NOW)
    assert doc.lang == "en"
    text = pdf_text(documents.render(doc.id, "pdf"))
    assert "Certificate of work done No. 1 of 2026-03-02" in text
    assert "One hundred and twenty thousand roubles 00 kopeks" in text
    assert "no VAT" in text
    ru = documents.new(desk.deal_id, "act", lang="ru", by=desk.admin_id, now=NOW)
    assert "Акт выполненных работ № 1 от 02.03.2026 (редакция 2)" in pdf_text(documents.render(ru.id, "pdf"))


def test_docx_has_the_lines_and_the_words(desk: Desk) -> None:
    import docx

    lines(desk)
    doc = documents.new(desk.deal_id, "invoice", by=desk.admin_id, now=NOW)
    word = docx.Document(io.BytesIO(documents.render(doc.id, "docx")))
    text = "\n".join(p.text for p in word.paragraphs)
    cells = [c.text.replace("\u00a0", " ") for row in word.tables[0].rows for c in row.cells]
    assert "Счёт на оплату № 1 от 02.03.2026" in text
    assert "Всего к оплате: Сто двадцать тысяч рублей 00 копеек" in text
    assert "Лицензия CRM (год)" in cells and "60 000,00" in cells


def test_refusals_write_nothing(desk: Desk, counts: Counts) -> None:
    before = counts()
    for call, code in (
        (lambda: documents.new(desk.deal_id, "proposal", by=None, now=NOW), "doc.no_lines"),
        (lambda: documents.new(9999, "invoice", by=None, now=NOW), "deal.not_found"),
        (lambda: documents.new(desk.deal_id, "contract", by=None, now=NOW), "doc.kind_invalid"),
        (lambda: documents.new(desk.deal_id, "act", lang="de", by=None, now=NOW), "lang.invalid"),
        (lambda: documents.render(9999, "pdf"), "doc.not_found"),
    ):
        with pytest.raises(CrmError) as refused:
            call()
        assert refused.value.code == code
    assert counts() == before


def test_a_template_error_names_its_line_and_gives_no_document(desk: Desk, tmp_path: Path) -> None:
    lines(desk)
    doc = documents.new(desk.deal_id, "invoice", by=desk.admin_id, now=NOW)
    own = tmp_path / "templates" / "ru"
    own.mkdir(parents=True)
    (own / "invoice.html").write_text(
        "<h1>Счёт</h1>\n<p>{{ doc.total | money }}</p>\n<p>{{ doc.nothing }}</p>\n"
    )
    settings.put("documents.templates", str(tmp_path / "templates"))
    with pytest.raises(CrmError) as refused:
        documents.render(doc.id, "pdf")
    assert refused.value.code == "template.error"
    assert refused.value.params["line"] == 3
    assert "invoice.html, line 3" in refused.value.message
    (own / "invoice.html").write_text("<h1>Счёт</h1>\n{% if doc.total %}\n<p>{{ doc.total }}</p>\n")
    with pytest.raises(CrmError) as refused:
        documents.render(doc.id, "pdf")
    assert refused.value.code == "template.error"
    (own / "invoice.html").write_text("<h1>Счёт {{ doc.number }} на {{ doc.total | money }}</h1>\n")
    assert "Счёт 1 на 120 000,00" in pdf_text(documents.render(doc.id, "pdf"))
