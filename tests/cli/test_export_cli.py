"""``crm export``: real files read back as the programs that open them would (csv, openpyxl, simple
vCard and iCalendar checks)."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm_tui.data.db import database
from crm_tui.services import clock, contacts, export, tasks
from crm_tui.services.reports import Table
from tests.cli.conftest import Crm, Run
from tests.conftest import NOW, Counts, Desk


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_excel_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that tells Excel it is UTF-8
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def unfold(text: str) -> list[str]:
    """Content lines: every physical line ends with CRLF and is at most 75 octets; folds joined."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    for line in physical:
        assert "\n" not in line and "\r" not in line
        assert len(line.encode("utf-8")) <= 75, line
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def run_export(crm: Crm, tmp_path: Path, *args: str, name: str = "out") -> Path:
    target = tmp_path / name
    done = crm("export", *args, "-o", str(target))
    assert done.code == 0, done.err
    return target


def test_leads_as_csv_with_a_header_and_every_lead(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    database.close()
    done = crm("export", "leads", "-o", str(tmp_path / "leads.csv"), "--json")
    assert done.code == 0, done.err
    assert done.json() == {"kind": "leads", "format": "csv", "path": str(tmp_path / "leads.csv"), "rows": 3}
    rows = read_csv(tmp_path / "leads.csv")
    assert [r["name"] for r in rows] == ["Иван Смирнов", "Maria Ivanova", "Пётр Сидоров"]
    ivan = rows[0]
    assert ivan["id"] == str(desk.new_lead_id)
    assert ivan["phone"] == "+79161234567"
    assert ivan["owner"] == "anna" and ivan["utm_term"] == "crm для отдела продаж"
    assert ivan["created_at"] == NOW.isoformat()
    human = crm("export", "leads", "-o", str(tmp_path / "again.csv"))
    assert human.out.strip() == f"3 leads -> {tmp_path / 'again.csv'}"


def test_filters_as_on_the_list_commands(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    database.close()
    names = lambda *args: [r["name"] for r in read_csv(run_export(crm, tmp_path, "leads", *args))]  # noqa: E731
    assert names("--status", "qualified") == ["Maria Ivanova"]
    assert names("--status", "open") == ["Иван Смирнов", "Maria Ivanova"]
    assert names("--source", "yandex") == ["Иван Смирнов"]
    assert names("--owner", "anna") == [
        lead["name"] for lead in reversed(crm("lead", "list", "--owner", "anna", "--json").json())
    ]
    deals = read_csv(run_export(crm, tmp_path, "deals", "--stage", "2"))  # a converted lead's deal
    assert [d["id"] for d in deals] == [str(desk.deal_id)]
    assert read_csv(run_export(crm, tmp_path, "deals", "--stage", "1")) == []
    assert read_csv(run_export(crm, tmp_path, "deals", "--status", "won")) == []
    assert len(read_csv(run_export(crm, tmp_path, "tasks", "--owner", "anna"))) >= 1


def test_refusals_say_why_and_write_nothing(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    database.close()
    target = tmp_path / "x"
    for args, message in (
        (("leads", "--format", "vcf"), "vCard (vcf) holds contacts"),
        (("contacts", "--format", "ics"), "iCalendar (ics) holds tasks"),
        (("leads", "--format", "xlsx", "--excel"), "--excel is a kind of CSV"),
        (("leads", "--stage", "2"), "--stage applies to deals only"),
        (("contacts", "--status", "new"), "--status applies to leads, deals and tasks only"),
        (("leads", "--status", "won"), "Unknown status 'won'"),
        (("all", "--format", "csv"), "all exports as json"),
        (("people",), "Nothing to export called 'people'"),
        (("leads", "--format", "pdf"), "Unknown format 'pdf'"),
        (("leads", "--owner", "nobody"), "No user with login 'nobody'"),
    ):
        assert message in crm("export", *args, "-o", str(target)).error
        assert not target.exists()
    assert list(tmp_path.glob(".*part")) == []


def test_excel_csv_opens_in_russian_excel(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    database.close()
    deals = read_excel_csv(run_export(crm, tmp_path, "deals", "--excel"))
    (deal,) = deals
    assert deal["amount (₽)"] == "150000,00"  # roubles with a decimal comma, not kopecks
    assert deal["created_at"] == clock.to_local(NOW).strftime("%d.%m.%Y %H:%M")
    assert deal["currency"] == "RUB"
    leads = read_excel_csv(run_export(crm, tmp_path, "leads", "--excel"))
    assert leads[0]["phone"] == '="+7 916 123-45-67"'  # stays text: never 7,9E+10
    assert leads[0]["name"] == "Иван Смирнов"
    raw = (tmp_path / "out").read_bytes().decode("utf-8-sig")
    assert raw.splitlines()[0].startswith("id;name;phone;")
    assert "\r\n" in raw


def test_excel_csv_keeps_a_visitors_formula_as_text(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    from crm_tui.services import leads

    leads.register(leads.NewLead('=HYPERLINK("http://x")', "+7 916 555-00-00"), by=None, now=NOW)
    database.close()
    rows = read_excel_csv(run_export(crm, tmp_path, "leads", "--excel"))
    assert rows[-1]["name"] == '\'=HYPERLINK("http://x")'


def test_xlsx_has_typed_cells(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    contacts.update(
        desk.contact_id,
        contacts.ContactEdit(
            name="Пётр Сидоров",
            company_name="АО Вектор",
            phones=("+7 495 200-30-40",),
            birthday=date(1980, 5, 17),
        ),
        by=desk.admin_id,
        now=NOW,
    )
    database.close()
    path = run_export(crm, tmp_path, "all", "--format", "xlsx", name="desk.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == list(export.KINDS)
    sheet = book["deals"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c for c in sheet[2]], strict=True))
    assert isinstance(row["id"].value, int)
    assert row["amount"].value == 150000 and isinstance(row["amount"].value, float | int)
    assert "₽" in row["amount"].number_format
    assert isinstance(row["created_at"].value, datetime)
    assert row["created_at"].value == clock.to_local(NOW)
    assert row["created_at"].is_date
    person = dict(
        zip([c.value for c in book["contacts"][1]], [c.value for c in book["contacts"][2]], strict=True)
    )
    assert person["name"] == "Пётр Сидоров" and person["company"] == "АО Вектор"
    assert person["birthday"].date() == date(1980, 5, 17)
    assert book["leads"].max_row == 4


def test_contacts_as_vcards_a_phone_imports(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    long_name = "Константин Константинопольский-Эрдельмайер Вольдемарович"
    contacts.update(
        desk.contact_id,
        contacts.ContactEdit(
            name=long_name,
            company_name="АО Вектор; филиал, Москва",
            phones=("+7 495 200-30-40", "8 (916) 765-43-21"),
            emails=("petr@vector.ru", "p.sidorov@mail.ru"),
        ),
        by=desk.admin_id,
        now=NOW,
    )
    database.close()
    path = run_export(crm, tmp_path, "contacts", "--format", "vcf", name="book.vcf")
    lines = unfold(path.read_bytes().decode("utf-8"))
    assert lines[0] == "BEGIN:VCARD" and lines[1] == "VERSION:4.0" and lines[-1] == "END:VCARD"
    assert f"FN:{long_name}" in lines
    assert "N:Константин;Константинопольский-Эрдельмайер;Вольдемарович;;" in lines
    assert "ORG:АО Вектор\\; филиал\\, Москва" in lines
    phones = [line for line in lines if line.startswith("TEL")]
    assert phones == [
        "TEL;VALUE=uri;TYPE=voice;PREF=1:tel:+74952003040",
        "TEL;VALUE=uri;TYPE=voice:tel:+79167654321",
    ]
    assert [line.split(":", 1)[1] for line in lines if line.startswith("EMAIL")] == [
        "petr@vector.ru",
        "p.sidorov@mail.ru",
    ]
    assert any(len(line.encode()) > 75 for line in lines)  # the long name was folded, and unfolds whole


def test_open_tasks_as_an_icalendar_file(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    due = NOW + timedelta(days=1)
    made = tasks.create(
        "Позвонить; обсудить счёт, договор и акты",
        due,
        by=desk.admin_id,
        now=NOW,
        contact_id=desk.contact_id,
    )
    done = tasks.create("Уже сделано", due, by=desk.admin_id, now=NOW)
    tasks.complete(done.id, by=desk.admin_id, now=NOW)
    (open_count,) = database.execute_sql("SELECT COUNT(*) FROM task WHERE done_at IS NULL").fetchone()
    database.close()
    path = run_export(crm, tmp_path, "tasks", "--format", "ics", name="tasks.ics")
    lines = unfold(path.read_bytes().decode("utf-8"))
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    assert any(line.startswith("PRODID:") for line in lines)
    events = [i for i, line in enumerate(lines) if line == "BEGIN:VEVENT"]
    assert len(events) == open_count >= 2
    assert lines.count("END:VEVENT") == len(events) == lines.count("BEGIN:VALARM")
    start = lines.index(f"UID:crm-tui-task-{made.id}")
    event = lines[start : lines.index("END:VEVENT", start)]
    assert f"DTSTART:{due:%Y%m%dT%H%M%S}Z" in event
    assert "SUMMARY:Позвонить\\; обсудить счёт\\, договор и акты" in event
    assert any(line.startswith("DTSTAMP:") for line in event)
    assert f"UID:crm-tui-task-{done.id}" not in lines


def test_an_empty_desk_exports_a_header_only(db: object, crm: Crm, tmp_path: Path) -> None:
    database.close()
    path = run_export(crm, tmp_path, "leads", name="leads.csv")
    assert path.read_text(encoding="utf-8").splitlines() == [
        ",".join(c.name for c in export.plan("leads", export.Filters()).columns)
    ]
    assert read_excel_csv(run_export(crm, tmp_path, "deals", "--excel")) == []
    assert json.loads(run_export(crm, tmp_path, "contacts", "--format", "json").read_text()) == []
    book = load_workbook(run_export(crm, tmp_path, "tasks", "--format", "xlsx", name="t.xlsx"))
    assert book["tasks"].max_row == 1
    vcf = run_export(crm, tmp_path, "contacts", "--format", "vcf", name="c.vcf")
    assert vcf.read_text() == ""


def test_all_as_json_is_the_complete_desk_with_ids(
    desk: Desk, crm: Crm, tmp_path: Path, counts: Counts
) -> None:
    stored = counts()
    database.close()
    path = run_export(crm, tmp_path, "all", "--format", "json", name="desk.json")
    dump = json.loads(path.read_text(encoding="utf-8"))
    assert dump["format"] == "crm-tui-desk" and dump["version"] == 1 and dump["schema_version"] >= 10
    tables = dump["tables"]
    for table in (
        "lead",
        "deal",
        "contact",
        "contact_channel",
        "company",
        "task",
        "interaction",
        "user",
        "stage",
        "stage_history",
        "setting",
        "schema_version",
    ):
        assert len(tables[table]["rows"]) == stored[table], table
    assert not any(name.startswith("search_index") for name in tables)
    lead = dict(zip(tables["lead"]["columns"], tables["lead"]["rows"][0], strict=True))
    assert lead["id"] == desk.new_lead_id and lead["name"] == "Иван Смирнов"
    deal = dict(zip(tables["deal"]["columns"], tables["deal"]["rows"][0], strict=True))
    assert deal["amount"] == 15_000_000  # minor units
    json_leads = json.loads(run_export(crm, tmp_path, "leads", "--format", "json").read_text())
    assert json_leads[0]["created_at"] == NOW.isoformat() and json_leads[0]["id"] == desk.new_lead_id


def test_standard_output_with_dash(desk: Desk, crm: Crm) -> None:
    database.close()
    done = crm("export", "companies", "-o", "-")
    assert done.code == 0
    assert done.out.splitlines()[0].startswith("id,name,")
    assert "АО Вектор" in done.out
    assert "binary" in crm("export", "leads", "--format", "xlsx", "-o", "-").error


def test_a_report_as_excel_csv_is_in_roubles() -> None:
    table = Table(
        "sources",
        "Sources",
        ("source", "leads", "revenue", "share"),
        (("yandex", 3, 15000050, 0.5),),
        money=(2,),
    )
    text = export.report_csv([table], excel=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(text[1:].splitlines(), delimiter=";"))
    assert rows == [
        ["table", "source", "leads", "revenue (₽)", "share"],
        ["sources", "yandex", "3", "150000,50", "0,50"],
    ]


@pytest.mark.postgres
def test_export_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crm_tui.cli import app as cli_app

    runner = CliRunner()
    added = runner.invoke(
        cli_app, ["lead", "add", "--name", "Иван", "--phone", "+7 916 123-45-67", "--db", pg_url]
    )
    assert added.exit_code == 0, added.stderr
    for args in (
        ("leads", "-o", str(tmp_path / "l.csv")),
        ("all", "--format", "json", "-o", str(tmp_path / "a.json")),
    ):
        done = runner.invoke(cli_app, ["export", *args, "--db", pg_url])
        assert done.exit_code == 0, done.stderr
    assert [r["name"] for r in read_csv(tmp_path / "l.csv")] == ["Иван"]
    dump = json.loads((tmp_path / "a.json").read_text())
    assert len(dump["tables"]["lead"]["rows"]) == 1
    assert (
        dump["tables"]["lead"]["rows"][0][dump["tables"]["lead"]["columns"].index("created_at")].count(" ")
        == 1
    )


def test_xlsx_keeps_a_formula_as_text_and_splits_sheets_at_excels_limit(desk: Desk, tmp_path: Path) -> None:
    from openpyxl import Workbook

    from crm_tui.services import leads

    leads.register(leads.NewLead('=HYPERLINK("http://x")', "+7 916 555-00-00"), by=None, now=NOW)
    workbook = Workbook(write_only=True)
    with export.snapshot():
        written = export.write_xlsx_sheet(
            workbook, export.plan("leads", export.Filters()), "leads", max_rows=3
        )
    workbook.save(tmp_path / "split.xlsx")
    book = load_workbook(tmp_path / "split.xlsx")
    assert written == 4 and book.sheetnames == ["leads", "leads (2)"]
    assert book["leads"].max_row == 4 and book["leads (2)"].max_row == 2
    cell = book["leads (2)"]["B2"]
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"


def run_at(db: str, *args: str) -> Run:
    """``crm ARGS --db DB`` on another desk than the test's."""
    from typer.testing import CliRunner

    from crm_tui.cli import app

    result = CliRunner().invoke(app, [*args, "--db", db])
    if database.obj is not None and not database.is_closed():
        database.close()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def dump_of(crm: Crm, tmp_path: Path, name: str, *db: str) -> dict[str, object]:
    path = tmp_path / name
    done = (
        run_at(db[1], "export", "all", "--format", "json", "-o", str(path))
        if db
        else crm("export", "all", "--format", "json", "-o", str(path))
    )
    assert done.code == 0, done.err
    dump = json.loads(path.read_text(encoding="utf-8"))
    dump.pop("exported_at")
    dump["tables"].pop("schema_version")  # the desk's own: when each step ran on it
    return dump


def test_a_dump_imported_into_a_new_desk_is_the_same_desk(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    tasks.create("Позвонить", NOW + timedelta(hours=2), by=desk.admin_id, now=NOW, deal_id=desk.deal_id)
    database.close()
    original = dump_of(crm, tmp_path, "a.json")
    other = str(tmp_path / "other.db")
    done = run_at(other, "import", "dump", str(tmp_path / "a.json"), "--json")
    assert done.code == 0, done.err
    assert done.json()["counts"]["lead"] == 3
    assert dump_of(crm, tmp_path, "b.json", "--db", other) == original
    # the new desk works: search finds what was imported, ids go on after the imported ones
    assert [h["id"] for h in run_at(other, "search", "Ромашка", "--json").json() if h["kind"] == "lead"] == [
        desk.new_lead_id
    ]
    added = run_at(other, "lead", "add", "--name", "Новый", "--phone", "+7 916 000-11-22", "--json")
    assert added.json()["lead"]["id"] == 4
    # into a desk with records: refused, nothing written
    message = run_at(other, "import", "dump", str(tmp_path / "a.json")).error
    assert "goes into a new, empty desk" in message
    assert len(run_at(other, "lead", "list", "--json").json()) == 4
    (tmp_path / "junk.json").write_text('{"a": 1}')
    assert (
        "is not a desk dump"
        in run_at(str(tmp_path / "x.db"), "import", "dump", str(tmp_path / "junk.json")).error
    )


@pytest.mark.postgres
def test_a_dump_moves_a_desk_from_sqlite_to_postgresql(
    desk: Desk, crm: Crm, tmp_path: Path, pg_url: str
) -> None:
    database.close()
    original = dump_of(crm, tmp_path, "a.json")
    done = run_at(pg_url, "import", "dump", str(tmp_path / "a.json"))
    assert done.code == 0, done.err
    moved = dump_of(crm, tmp_path, "b.json", "--db", pg_url)
    assert moved["tables"].keys() == original["tables"].keys()  # type: ignore[union-attr]
    for table, body in original["tables"].items():  # type: ignore[union-attr]
        there = moved["tables"][table]  # type: ignore[index]
        key = lambda row, cols=there["columns"]: row[cols.index("id")] if "id" in cols else row  # noqa: E731
        rows_there = sorted((dict(zip(there["columns"], r, strict=True)) for r in there["rows"]), key=str)
        rows_here = sorted((dict(zip(body["columns"], r, strict=True)) for r in body["rows"]), key=str)
        assert rows_there == rows_here, table
        del key
    stage = run_at(pg_url, "deal", "move", str(desk.deal_id), "3")
    assert stage.code == 0, stage.err
    added = run_at(pg_url, "lead", "add", "--name", "Новый", "--phone", "+7 916 000-11-22", "--json")
    assert added.json()["lead"]["id"] == 4
