"""``crm import contacts|companies|leads FILE``, ``crm import list``, ``crm import revert BATCH``."""

from __future__ import annotations

from pathlib import Path

from tests import import_files as files
from tests.cli.conftest import Crm
from tests.conftest import Counts


def test_import_excel_csv_then_list_and_revert(crm: Crm, tmp_path: Path) -> None:
    path = files.excel_csv(tmp_path)
    done = crm("import", "contacts", str(path))
    assert done.code == 0, done.err
    assert "contacts from контакты.csv (csv, cp1251, ';')" in done.out
    assert "Телефон -> phone, Моб. телефон -> phone" in done.out
    assert "ignored columns: Должность" in done.out
    assert "import #1 (crm import revert 1 takes it back)" in done.out
    assert "3 rows: created 3, updated 0, unchanged 0, duplicate 0, rejected 0" in done.out
    shown = crm("contact", "list")
    assert "Иванов Иван Иванович" in shown.out and "ООО «Ромашка», филиал" in shown.out

    again = crm("import", "contacts", str(path), "--json").json()
    assert again["counts"]["duplicate"] == 3 and again["batch_id"] == 2
    assert [r["verdict"] for r in again["rows"]] == ["duplicate"] * 3

    listed = crm("import", "list", "--json").json()
    assert [(b["id"], b["kind"], b["created"], b["duplicates"]) for b in listed] == [
        (2, "contacts", 0, 3),
        (1, "contacts", 3, 0),
    ]
    assert "контакты.csv" in crm("import", "list").out

    reverted = crm("import", "revert", "1")
    assert reverted.code == 0, reverted.err
    assert reverted.out.strip() == "import #1 reverted: removed 1 company, removed 3 contacts"
    assert "no contacts" in crm("contact", "list").out
    assert "reverted" in crm("import", "list").out
    assert crm("import", "revert", "1").error.startswith("Import #1 was already reverted")
    assert crm("import", "revert", "99").error == "No import #99"


def test_bad_rows_refused_listed_by_line_and_column(crm: Crm, tmp_path: Path, counts: Counts) -> None:
    crm("import", "list")  # the desk exists
    before = counts()
    path = tmp_path / "bad.csv"
    path.write_text(
        "ФИО;Телефон;E-mail\nХороший;+7 916 100-00-01;\nПлохой;12345;\nСовсем;+7 916 100-00-03;a@\n",
        encoding="utf-8",
    )
    done = crm("import", "contacts", str(path))
    assert done.code == 1
    lines = done.err.splitlines()
    assert lines[0] == (
        "error: 2 bad rows in bad.csv: nothing imported (fix them, or --skip-errors to import the good rows)"
    )
    assert lines[1] == "  line 3, column Телефон: Not a valid phone number: '12345'"
    assert lines[2].startswith("  line 4, column E-mail: Not a valid e-mail: 'a@'")
    assert counts() == before

    skipped = crm("import", "contacts", str(path), "--skip-errors")
    assert skipped.code == 0
    assert f"rejected rows written to {tmp_path / 'bad.rejected.csv'}" in skipped.out
    assert "created 1" in skipped.out


def test_dry_run_and_options(crm: Crm, tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "c.csv"
    path.write_text("Клиент,Номер\nОлег,+7 916 500-00-01\nОлег,+7 916 500-00-01\n", encoding="utf-8")
    crm("import", "list")
    before = counts()
    refused = crm("import", "contacts", str(path))
    assert refused.error.startswith("No column for phone or email among Клиент, Номер")
    dry = crm("import", "contacts", str(path), "--map", "Номер=phone", "--dry-run")
    assert dry.code == 0, dry.err
    assert "dry run: nothing written" in dry.out
    assert "  line 2  created" in dry.out
    assert "  line 3  duplicate  +79165000001 is on line 2 too" in dry.out
    assert counts() == before
    assert crm("import", "contacts", str(path), "--format", "pdf").error == (
        "Unknown format 'pdf': csv, xlsx, vcf or json"
    )
    assert crm("import", "contacts", str(tmp_path / "nope.csv")).error.startswith("No such file")
    assert crm("import", "contacts", str(path), "--owner", "nobody").code == 1


def test_vcard_and_xlsx_and_leads(crm: Crm, tmp_path: Path) -> None:
    vcf = crm("import", "contacts", str(files.android_vcf(tmp_path)))
    assert vcf.code == 0, vcf.err
    assert "FN -> name, TEL -> phone, EMAIL -> email, ORG -> company" in vcf.out
    assert "Анна Сергеевна Иванова" in crm("contact", "list").out
    sheet = crm("import", "contacts", str(files.xlsx(tmp_path)), "--sheet", "Поставщики")
    assert "created 1" in sheet.out
    leads = tmp_path / "leads.csv"
    leads.write_text("Имя,Телефон\nЛид,+7 916 400-00-01\n", encoding="utf-8")
    done = crm("import", "leads", str(leads))
    assert "created 1" in done.out
    assert "no tasks" in crm("task", "list").out.lower() or "Лид" not in crm("task", "list").out
