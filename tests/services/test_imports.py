"""Importing contacts, companies and leads from files, on SQLite and PostgreSQL: reading files as the
programs write them, the mapping, the checks, all or nothing, --skip-errors, --update, batches, revert."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from peewee import Database

from crm_tui.data.import_models import ImportBatch, ImportItem
from crm_tui.data.models import Company, Contact, ContactChannel, Deal, Lead, Task
from crm_tui.services import contacts, deals, import_files, imports, search
from crm_tui.services.errors import CrmError, InvalidInput
from crm_tui.services.imports import ImportOptions
from tests import import_files as files
from tests.conftest import NOW, Counts, Desk


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def run(kind: str, path: Path, desk: Desk, **options: object) -> imports.ImportResult:
    return imports.run(kind, path, ImportOptions(**options), by=desk.admin_id, now=NOW)  # type: ignore[arg-type]


def card_of(phone: str) -> contacts.ContactCard:
    channel = ContactChannel.get(ContactChannel.value == phone)
    return contacts.card(channel.contact_id)


def test_excel_cp1251_csv_imports_every_field(desk: Desk, tmp_path: Path) -> None:
    result = run("contacts", files.excel_csv(tmp_path), desk)

    assert (result.file_format, result.encoding, result.delimiter) == ("csv", "cp1251", ";")
    assert result.columns["phone"] == ["Телефон", "Моб. телефон"]
    assert result.unknown_columns == ["Должность"]
    assert result.counts["created"] == 3 and not result.errors
    ivan = card_of("+79161234567")
    assert ivan.name == "Иванов Иван Иванович"
    assert ivan.phones == ["+79161234567", "+79261112233"]
    assert ivan.emails == ["ivan@mail.ru"]
    assert ivan.company_name == "ООО «Ромашка», филиал"
    assert ivan.birthday is not None and ivan.birthday.isoformat() == "1985-04-12"
    assert ivan.tags == ["vip", "опт"]
    (company,) = Company.select().where(Company.name == "ООО «Ромашка», филиал")  # one, for both rows
    assert company.inn == "7707083893"
    # the second row's quoted job title spans two lines: the third contact is on line 5
    assert [(v.line, v.verdict) for v in result.rows] == [(2, "created"), (3, "created"), (5, "created")]
    assert card_of("+79035551234").company_name == "ООО «Ромашка», филиал"
    assert card_of("+74952103040").emails == ["anna.petrova@example.ru"]
    assert {h.kind for h in search.search("Ромашка филиал", limit=10)} >= {"contact", "company"}


def test_utf8_bom_comma_and_tab_files_read_alike(desk: Desk, tmp_path: Path) -> None:
    google = run("contacts", files.google_csv(tmp_path), desk)
    assert (google.encoding, google.delimiter) == ("utf-8-sig", ",")
    maria = card_of("+79167000001")
    assert maria.phones == ["+79167000001", "+79167000002", "+74957000003"]
    assert maria.company_name == "ООО Луч, СПб"
    tab = tmp_path / "tab.txt"
    tab.write_text("Имя\tФамилия\tТелефон\nБорис\tКотов\t+7 999 123 45 67\n", encoding="utf-8")
    result = run("contacts", tab, desk)
    assert result.delimiter == "\t"
    assert card_of("+79991234567").name == "Борис Котов"


def test_xlsx_first_sheet_or_named_sheet(desk: Desk, tmp_path: Path) -> None:
    path = files.xlsx(tmp_path)
    result = run("contacts", path, desk)
    assert result.counts["created"] == 2
    olga = card_of("+79161112233")  # a phone Excel kept as a number
    assert olga.name == "Ольга Кузнецова"
    assert olga.birthday is not None and olga.birthday.isoformat() == "1990-05-17"
    assert olga.company_name == "ООО Луч"
    assert card_of("+442079460958").emails == ["john@smith.co.uk"]
    run("contacts", path, desk, sheet="Поставщики")
    assert card_of("+78123004050").name == "Поставщик Один"
    with pytest.raises(InvalidInput, match="No sheet 'Лист9'.*Клиенты, Поставщики"):
        run("contacts", path, desk, sheet="Лист9")


def test_android_vcard_quoted_printable_and_three_phones(desk: Desk, tmp_path: Path) -> None:
    result = run("contacts", files.android_vcf(tmp_path), desk)
    assert result.counts["created"] == 2
    anna = card_of("+79161112233")
    assert anna.name == "Анна Сергеевна Иванова"
    assert anna.phones == ["+79161112233", "+74951234567", "+79031234567"]
    assert anna.emails == ["anna@mail.ru", "a.ivanova@romashka.ru"]
    assert anna.company_name == "ООО Ромашка"
    assert anna.birthday is not None and anna.birthday.isoformat() == "1988-03-08"
    assert card_of("+79161234500").name == "Boris Petrov"


def test_iphone_vcard_folded_and_grouped(desk: Desk, tmp_path: Path) -> None:
    run("contacts", files.iphone_vcf(tmp_path), desk)
    ivan = card_of("+79165554433")
    assert ivan.name == "Иван Смирнов"
    assert ivan.phones == ["+79165554433", "+74957776655", "+78123004050"]
    assert ivan.company_name == "ООО «Ромашка, филиал»"
    assert ivan.tags == ["vip", "опт"]


def test_json_array(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(
        '[{"name": "Olga", "phones": ["+7 916 000-00-01", "+7 916 000-00-02"], "email": "o@x.ru"}]',
        encoding="utf-8",
    )
    run("contacts", path, desk)
    assert card_of("+79160000001").phones == ["+79160000001", "+79160000002"]


BAD = (
    "ФИО;Телефон;E-mail;ИНН;Дата рождения;Ответственный\r\n"
    "Хороший Человек;+7 916 100-00-01;good@mail.ru;;;anna\r\n"
    "Плохой Телефон;12345;;;;\r\n"
    "Плохая Почта;+7 916 100-00-03;bad@;;;\r\n"
    "Плохой ИНН;+7 916 100-00-04;;7707083894;;\r\n"
    "Плохая Дата;+7 916 100-00-05;;;31.02.1990;\r\n"
    "Из Будущего;+7 916 100-00-06;;;01.01.2099;\r\n"
    ";+7 916 100-00-07;;;;\r\n"
    "Без Связи;;;;;\r\n"
    "Чужой Менеджер;+7 916 100-00-09;;;;boris\r\n"
)


def test_one_bad_row_and_nothing_is_written_every_bad_row_named(
    desk: Desk, tmp_path: Path, counts: Counts
) -> None:
    before = counts()
    result = run("contacts", files.excel_csv(tmp_path, BAD, "bad.csv"), desk)

    assert result.refused and result.batch_id is None
    assert counts() == before
    found = {(e.line, e.column, e.code) for e in result.errors}
    assert found == {
        (3, "Телефон", "phone.invalid"),
        (4, "E-mail", "email.invalid"),
        (5, "ИНН", "inn.checksum"),
        (6, "Дата рождения", "date.invalid"),
        (7, "Дата рождения", "birthday.future"),
        (8, "ФИО", "text.required"),
        (9, "Телефон", "contact.channel_required"),
        (10, "Ответственный", "user.not_found"),
    }
    assert result.counts == {"created": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 8}


def test_skip_errors_imports_good_rows_and_writes_rejects_beside(desk: Desk, tmp_path: Path) -> None:
    path = files.excel_csv(tmp_path, BAD, "bad.csv")
    result = run("contacts", path, desk, skip_errors=True)

    assert not result.refused and result.batch_id is not None
    good = card_of("+79161000001")
    assert good.owner_login == desk.manager_login
    rejects = tmp_path / "bad.rejected.csv"
    assert result.rejects_file == str(rejects)
    raw = rejects.read_bytes()
    assert b"\r\n" in raw
    rows = list(csv.reader(raw.decode("cp1251").splitlines(), delimiter=";"))
    assert rows[0] == ["ФИО", "Телефон", "E-mail", "ИНН", "Дата рождения", "Ответственный", "reason"]
    assert [r[0] for r in rows[1:]] == [
        "Плохой Телефон",
        "Плохая Почта",
        "Плохой ИНН",
        "Плохая Дата",
        "Из Будущего",
        "",
        "Без Связи",
        "Чужой Менеджер",
    ]
    assert "check digit" in rows[3][-1]
    # fixed and imported again, the rejects file goes in like any other
    rows[1][1] = "+7 916 100-00-02"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="cp1251", newline="") as f:
        csv.writer(f, delimiter=";").writerows([rows[0][:-1], rows[1][:-1]])
    assert run("contacts", fixed, desk).counts["created"] == 1


def test_dry_run_verdicts_and_nothing_written(desk: Desk, tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "ФИО,Телефон,Email\n"
        "Пётр Сидоров,+7 495 200-30-40,petr@vector.ru\n"  # the desk's contact: nothing new
        "Пётр Сидоров,+7 495 200-30-40,petr2@vector.ru\n"  # the same phone again in the file
        "Новый,+7 916 000-11-22,\n"
        "Сидоров П.,+7 495 200-30-40,p.sidorov@vector.ru\n",
        encoding="utf-8",
    )
    before = counts()
    plain = run("contacts", path, desk, dry_run=True)
    assert [(v.verdict, v.id) for v in plain.rows] == [
        ("duplicate", desk.contact_id),
        ("duplicate", None),
        ("created", None),
        ("duplicate", None),
    ]
    assert "--update" in plain.rows[0].note and "line 2" in plain.rows[1].note
    update = run("contacts", path, desk, dry_run=True, update=True)
    assert [v.verdict for v in update.rows] == ["unchanged", "duplicate", "created", "duplicate"]
    assert counts() == before
    assert not ImportBatch.select().exists()


def test_update_adds_fields_and_revert_restores(desk: Desk, tmp_path: Path, counts: Counts) -> None:
    before_card = contacts.card(desk.contact_id)
    before = counts()
    path = tmp_path / "c.csv"
    path.write_text(
        "Phone,Mobile,E-mail,Tags,Birthday\n"
        "+7 495 200-30-40,+7 999 888-77-66,,партнёр,1980-01-02\n"
        "+7 916 333-22-11,,new@mail.ru,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput, match="No column for name"):
        run("contacts", path, desk, update=True)
    path.write_text(
        "ФИО,Phone,Mobile,Tags,Birthday\n"
        "Пётр Сидоров,+7 495 200-30-40,+7 999 888-77-66,партнёр,1980-01-02\n"
        "Новая Клиентка,+7 916 333-22-11,,,\n",
        encoding="utf-8",
    )
    result = run("contacts", path, desk, update=True)
    assert [v.verdict for v in result.rows] == ["updated", "created"]
    after = contacts.card(desk.contact_id)
    assert after.phones == ["+74952003040", "+79998887766"]
    assert after.tags == [*before_card.tags, "партнёр"]
    assert after.birthday is not None and after.birthday.isoformat() == "1980-01-02"
    assert ImportItem.select().where(ImportItem.action == "updated").count() == 1

    reverted = imports.revert(result.batch_id or 0, by=desk.admin_id, now=NOW)
    assert reverted.removed == {"contact": 1} and reverted.restored == {"contact": 1}
    assert contacts.card(desk.contact_id) == before_card
    assert counts() | {"import_batch": 0, "import_item": 0} == before | {"import_batch": 0, "import_item": 0}
    assert not search.search("Новая Клиентка", limit=5)
    with pytest.raises(CrmError, match="already reverted"):
        imports.revert(result.batch_id or 0, by=desk.admin_id, now=NOW)


def test_revert_refused_for_records_changed_since_naming_them(desk: Desk, tmp_path: Path) -> None:
    result = run("contacts", files.excel_csv(tmp_path), desk)
    ivan = ContactChannel.get(ContactChannel.value == "+79161234567").contact_id
    anna = ContactChannel.get(ContactChannel.value == "+74952103040").contact_id
    contacts.change(ivan, contacts.ContactChange(name="Иван Иванов"), by=desk.admin_id, now=NOW)
    deals.create("Сделка", contact_id=anna, by=desk.admin_id, now=NOW)
    batch_id = result.batch_id or 0
    with pytest.raises(CrmError) as refused:
        imports.revert(batch_id, by=desk.admin_id, now=NOW)
    assert refused.value.code == "import.changed_since"
    assert f"contact #{ivan} Иван Иванов (edited)" in refused.value.message
    assert f"contact #{anna} Петрова Анна" in refused.value.message
    assert Contact.select().where(Contact.id == ivan).exists()
    assert ImportBatch.get_by_id(batch_id).reverted_at is None


def test_companies_by_inn_checksum_and_update(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        "Наименование;ИНН;КПП;Сайт;Адрес\n"
        "ПАО Сбербанк;7707083893;773601001;sberbank.ru;Москва, ул. Вавилова, 19\n"
        "ИП Пупкин;500100732259;;;\n",
        encoding="utf-8",
    )
    result = run("companies", path, desk)
    assert result.counts["created"] == 2
    sber = Company.get(Company.inn == "7707083893")
    assert (sber.kpp, sber.website) == ("773601001", "https://sberbank.ru")
    path.write_text("Наименование;ИНН;Телефон\nСбер;7707083893;+7 495 500-55-50\n", encoding="utf-8")
    assert [v.verdict for v in run("companies", path, desk, dry_run=True).rows] == ["duplicate"]
    updated = run("companies", path, desk, update=True)
    assert [v.verdict for v in updated.rows] == ["updated"]
    assert Company.get_by_id(sber.id).name == "Сбер"
    imports.revert(updated.batch_id or 0, by=desk.admin_id, now=NOW)
    assert Company.get_by_id(sber.id).name == "ПАО Сбербанк"
    path.write_text("Наименование;ИНН\nОшибка;7707083894\n", encoding="utf-8")
    bad = run("companies", path, desk)
    assert bad.refused and bad.errors[0].code == "inn.checksum" and bad.errors[0].column == "ИНН"


def test_leads_get_no_call_task_unless_asked(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "Имя,Телефон,Источник,Комментарий\nЛид Один,+7 916 400-00-01,выставка,Хочет КП\n"
        "Лид Два,+7 916 400-00-02,выставка,\n",
        encoding="utf-8",
    )
    tasks_before = Task.select().count()
    result = run("leads", path, desk)
    assert result.counts["created"] == 2
    lead = Lead.get(Lead.phone == "+79164000001")
    assert (lead.utm_source, lead.comment, lead.status) == ("выставка", "Хочет КП", "new")
    assert Task.select().count() == tasks_before
    assert [v.verdict for v in run("leads", path, desk, dry_run=True).rows] == ["duplicate", "duplicate"]
    imports.revert(result.batch_id or 0, by=desk.admin_id, now=NOW)
    with_tasks = run("leads", path, desk, call_tasks=True)
    assert Task.select().count() == tasks_before + 2
    assert (
        Task.select().where(Task.kind == "first_call", Task.lead.in_([v.id for v in with_tasks.rows])).count()
        == 2
    )


def test_mapping_overrides_and_unknown_columns(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Клиент;Номер;Комментарий\nОлег;+7 916 500-00-01;ignored\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="No column for phone or email"):
        run("contacts", path, desk)
    result = run("contacts", path, desk, mapping="Номер=phone")
    assert result.unknown_columns == ["Комментарий"]
    assert card_of("+79165000001").name == "Олег"
    with pytest.raises(InvalidInput, match="No field 'fone'"):
        run("contacts", path, desk, mapping="Номер=fone")
    with pytest.raises(InvalidInput, match="does not have: телефон"):
        run("contacts", path, desk, mapping="Телефон=phone")


def test_a_kind_registers_itself() -> None:
    assert set(imports.KINDS) >= {"contacts", "companies", "leads"}
    assert imports.kind_named("contacts").table == "contact"
    with pytest.raises(InvalidInput, match="Cannot import 'products'"):
        imports.kind_named("products")


def test_encoding_is_detected_not_assumed(tmp_path: Path) -> None:
    path = files.excel_csv(tmp_path)
    assert import_files.detect_encoding(path.read_bytes()) == "cp1251"
    assert import_files.detect_encoding("ФИО;Телефон\r\nЁж;1\r\n".encode()) == "utf-8"


def test_deals_linked_by_phone_with_money_and_stage(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    text = (
        "Название;Сумма;Этап;Телефон;Дата закрытия;Компания\r\n"
        "Внедрение CRM;150 000,50;2;+7 495 200-30-40;31.01.2027;\r\n"
        "Сайт;1 000 000 руб.;;;;ООО Новая\r\n"
        "Плохая;много;Won;+7 999 000-00-00;32.01.2027;\r\n"
    )
    path.write_bytes(text.encode("cp1251"))
    refused = run("deals", path, desk)
    assert refused.refused
    assert {(e.line, e.column, e.code) for e in refused.errors} == {
        (4, "Сумма", "amount.invalid"),
        (4, "Этап", "stage.closed"),
        (4, "Дата закрытия", "date.invalid"),
    }
    done = run("deals", path, desk, skip_errors=True)
    first, second = (Deal.get_by_id(v.id) for v in done.rows[:2])
    assert (first.amount, first.contact_id, first.company_id) == (
        15_000_050,
        desk.contact_id,
        desk.company_id,
    )
    assert first.expected_close is not None and first.expected_close.isoformat() == "2027-01-31"
    assert second.amount == 100_000_000 and Company.get_by_id(second.company_id).name == "ООО Новая"
    assert [v.verdict for v in run("deals", path, desk, dry_run=True).rows[:2]] == ["duplicate", "duplicate"]
    reverted = imports.revert(done.batch_id or 0, by=desk.admin_id, now=NOW)
    assert reverted.removed == {"deal": 2, "company": 1}
    assert not Deal.select().where(Deal.id.in_([first.id, second.id])).exists()
