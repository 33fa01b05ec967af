"""``crm product``, ``crm deal line`` and ``crm doc``: the catalogue as people type prices, a deal's
lines and its amount, documents written to a file; every refusal one ``error:`` line that writes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.cli.conftest import Crm
from tests.conftest import Counts, Desk


def test_product_add_list_show_edit_archive_restore(desk: Desk, crm: Crm) -> None:
    run = crm("product", "add", "--name", "Лицензия CRM", "--price", "12 000,50", "--unit", "шт",
              "--category", "Лицензии", "--sku", "LIC-1")  # fmt: skip
    assert run.code == 0, run.err
    assert run.out.strip() == "added product #1 Лицензия CRM: 12 000.50 ₽ per шт, VAT 22%"
    made = crm("product", "add", "--name", "Обучение", "--price", "45000", "--vat", "none", "--json").json()
    assert (made["price"], made["vat_rate"], made["currency"]) == (4_500_000, None, "RUB")
    listed = crm("product", "list").out.splitlines()
    assert listed[0].split() == ["ID", "NAME", "SKU", "CATEGORY", "UNIT", "PRICE", "VAT"]
    assert "Лицензия CRM  LIC-1  Лицензии" in listed[1]
    assert [p["name"] for p in crm("product", "list", "-s", "обуч", "--json").json()] == ["Обучение"]
    assert "price     13 000 ₽ per шт, VAT included" in crm("product", "edit", "1", "--price", "13000").out
    assert crm("product", "show", "1", "--json").json()["price"] == 1_300_000
    assert crm("product", "archive", "1").out.strip() == "archived product #1 Лицензия CRM"
    assert [p["id"] for p in crm("product", "list", "--json").json()] == [2]
    assert [p["id"] for p in crm("product", "list", "--archived", "--json").json()] == [1]
    crm("product", "restore", "1")
    assert len(crm("product", "list", "--json").json()) == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--name", "X", "--price", "12 000 руб 50"], "Not an amount: '12 000 руб 50'"),
        (["--name", "X", "--price", "-1"], "An amount cannot be negative: -1"),
        (["--name", "X", "--price", "1", "--vat", "18"], "Not a VAT rate: '18' (22, 10, 0 or none)"),
        (["--price", "1"], "Name is required"),
    ],
)
def test_product_refusals(desk: Desk, crm: Crm, counts: Counts, args: list[str], said: str) -> None:
    before = counts()
    assert crm("product", "add", *args).error.startswith(said)
    assert counts() == before


def test_lines_make_the_amount_and_show_in_deal_show(desk: Desk, crm: Crm) -> None:
    crm("product", "add", "--name", "Лицензия CRM", "--price", "12 000")
    run = crm("deal", "line", "add", str(desk.deal_id), "--product", "1", "--qty", "3", "--discount", "10")
    assert run.code == 0, run.err
    assert (
        run.out.strip() == f"added line #1 of deal #{desk.deal_id}: Лицензия CRM, 3 шт x 12 000 -10% = 32 400"
    )
    crm("deal", "line", "add", str(desk.deal_id), "--text", "Внедрение", "--price", "90 000", "--vat", "none")
    listed = crm("deal", "line", "list", str(desk.deal_id), "--json").json()
    assert (listed["total"], listed["vat"]) == (12_240_000, 584_262)
    assert [line["text"] for line in listed["lines"]] == ["Лицензия CRM", "Внедрение"]
    shown = crm("deal", "show", str(desk.deal_id)).out
    assert "amount          122 400 ₽" in shown
    assert "total 122 400 ₽, VAT included 5 842.62 ₽" in shown
    assert "changed amount 32 400 ₽ → 122 400 ₽" in shown
    crm("deal", "line", "edit", "2", "--qty", "2")
    assert crm("deal", "show", str(desk.deal_id), "--json").json()["deal"]["amount"] == 21_240_000
    assert crm("deal", "line", "remove", "1").code == 0
    assert crm("deal", "show", str(desk.deal_id), "--json").json()["deal"]["amount"] == 18_000_000


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--product", "99"], "No product #99"),
        (["--product", "1", "--qty", "-2"], "Not a quantity: '-2'"),
        (["--product", "1", "--discount", "150"], "Not a discount: '150' (a percentage from 0 to 100)"),
        (["--text", "Внедрение"], "A line without a product needs a price (--price)"),
        (["--text", "Внедрение", "--price", "дорого"], "Not an amount: 'дорого'"),
    ],
)
def test_line_refusals(desk: Desk, crm: Crm, counts: Counts, args: list[str], said: str) -> None:
    crm("product", "add", "--name", "Лицензия", "--price", "1000")
    before = counts()
    assert crm("deal", "line", "add", str(desk.deal_id), *args).error.startswith(said)
    assert crm("deal", "line", "add", "999", "--product", "1").error == "No deal #999"
    assert counts() == before


def test_no_line_change_on_a_closed_deal(desk: Desk, crm: Crm, counts: Counts) -> None:
    crm("product", "add", "--name", "Лицензия", "--price", "1000")
    crm("deal", "line", "add", str(desk.deal_id), "--product", "1")
    crm("deal", "lose", str(desk.deal_id), "--reason", "дорого")
    before = counts()
    said = crm("deal", "line", "edit", "1", "--qty", "5").error
    assert said.startswith(f"Deal #{desk.deal_id} is lost: its lines stay as it closed")
    assert counts() == before


def test_doc_new_list_render(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    crm("product", "add", "--name", "Лицензия CRM", "--price", "12 000")
    crm("deal", "line", "add", str(desk.deal_id), "--product", "1", "--qty", "10")
    assert crm("doc", "new", "proposal", str(desk.deal_id)).out.strip() == (
        f"made proposal 1 (document #1) for deal #{desk.deal_id}: 120 000 ₽, ru"
    )
    again = crm("doc", "new", "proposal", str(desk.deal_id), "--lang", "en", "--json").json()
    assert (again["number"], again["version"], again["lang"]) == (1, 2, "en")
    listed = crm("doc", "list", str(desk.deal_id)).out.splitlines()
    assert listed[0].split() == ["ID", "KIND", "NUMBER", "VERSION", "LANG", "ISSUED", "TOTAL", "SENT"]
    assert len(listed) == 3
    out = tmp_path / "kp.pdf"
    run = crm("doc", "render", "1", "--format", "pdf", "-o", str(out))
    assert run.code == 0, run.err
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages).split())
    assert "Коммерческое предложение № 1" in text
    assert "Сто двадцать тысяч рублей 00 копеек" in text
    assert crm("doc", "render", "2", "-f", "docx", "-o", str(tmp_path / "kp.docx")).code == 0
    assert (tmp_path / "kp.docx").read_bytes()[:2] == b"PK"
    assert crm("doc", "sent", "2").out.strip() == "proposal 1 v2 (document #2) marked sent"
    assert "document" in crm("deal", "show", str(desk.deal_id)).out


def test_doc_refusals_write_nothing(desk: Desk, crm: Crm, counts: Counts, tmp_path: Path) -> None:
    before = counts()
    assert crm("doc", "new", "invoice", str(desk.deal_id)).error.startswith(
        f"Deal #{desk.deal_id} has no lines"
    )
    assert crm("doc", "new", "invoice", "999").error == "No deal #999"
    assert crm("doc", "render", "7", "-o", str(tmp_path / "x.pdf")).error == "No document #7"
    assert counts() == before
    crm("product", "add", "--name", "Лицензия", "--price", "1000")
    crm("deal", "line", "add", str(desk.deal_id), "--product", "1")
    crm("doc", "new", "invoice", str(desk.deal_id))
    own = tmp_path / "tpl" / "ru"
    own.mkdir(parents=True)
    (own / "invoice.html").write_text("<p>{{ doc.total }}</p>\n<p>{% for x in %}</p>\n")
    from crm_tui.data.db import open_database
    from crm_tui.services import settings

    with open_database(str(desk.db_path)).connection_context():
        settings.put("documents.templates", str(tmp_path / "tpl"))
    said = crm("doc", "render", "1", "-o", str(tmp_path / "bad.pdf")).error
    assert said.startswith("Document template ") and "invoice.html, line 2" in said
    assert not (tmp_path / "bad.pdf").exists()
    assert crm("doc", "render", "1", "-f", "odt", "-o", str(tmp_path / "x.odt")).error.startswith(
        "Not a document format: 'odt'"
    )
