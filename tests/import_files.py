"""Files as real programs write them, for the import tests: Russian Excel's "CSV" (Windows-1251, ``;``,
CRLF, a quoted company with a comma), an XLSX with number and date cells, an Android vCard 2.1 with
quoted-printable Cyrillic and soft line breaks, an iPhone vCard 3.0 with folded lines and grouped
properties, Google Contacts' CSV."""

from __future__ import annotations

import quopri
from datetime import datetime
from pathlib import Path

EXCEL_CSV = (
    "ФИО;Телефон;Моб. телефон;E-mail;Компания;ИНН;Дата рождения;Теги;Должность\r\n"
    'Иванов Иван Иванович;8 (916) 123-45-67;+7 926 111 22 33;ivan@mail.ru;"ООО «Ромашка», филиал";'
    "7707083893;12.04.1985;vip, опт;Директор\r\n"
    'Петрова Анна;+7 495 210-30-40;;Anna.Petrova@Example.RU;;;;;"Менеджер\r\nпо продажам"\r\n'
    'Сидоров Пётр;8-903-555-12-34;;;"ООО «Ромашка», филиал";;;;"Говорит: ""перезвоните"""\r\n'
)


def excel_csv(folder: Path, text: str = EXCEL_CSV, name: str = "контакты.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode("cp1251"))
    return path


def xlsx(folder: Path, name: str = "clients.xlsx") -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Клиенты"
    sheet.append(["Фамилия", "Имя", "Телефон", "Почта", "Организация", "Дата рождения"])
    sheet.append(["Кузнецова", "Ольга", 79161112233, "olga@luch.ru", "ООО Луч", datetime(1990, 5, 17)])
    sheet.append(["Smith", "John", "+44 20 7946 0958", "john@smith.co.uk", None, None])
    other = book.create_sheet("Поставщики")
    other.append(["ФИО", "Телефон"])
    other.append(["Поставщик Один", "+7 812 300-40-50"])
    path = folder / name
    book.save(path)
    return path


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii").replace("=\n", "")


def android_vcf(folder: Path) -> Path:
    """Android's export (vCard 2.1): the name in quoted-printable UTF-8, cut by a soft line break."""
    fn = _qp("Анна Сергеевна Иванова")
    cut = fn.index("=", 30)
    lines = [
        "BEGIN:VCARD",
        "VERSION:2.1",
        f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp('Иванова')};{_qp('Анна')};{_qp('Сергеевна')};;",
        f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{fn[:cut]}=",
        fn[cut:],
        "TEL;CELL:+7 916 111-22-33",
        "TEL;WORK:8 (495) 123-45-67",
        "TEL;HOME:+79031234567",
        "EMAIL;HOME:anna@mail.ru",
        "EMAIL;WORK:a.ivanova@romashka.ru",
        f"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp('ООО Ромашка')}",
        "BDAY:1988-03-08",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N:Petrov;Boris;;;",
        "FN:Boris Petrov",
        "TEL;CELL;PREF:89161234500",
        "END:VCARD",
    ]
    path = folder / "00001.vcf"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return path


def iphone_vcf(folder: Path) -> Path:
    """iOS's export (vCard 3.0): grouped properties, escaped commas, a folded NOTE."""
    text = (
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "PRODID:-//Apple Inc.//iPhone OS 17.4//EN\r\n"
        "N:Смирнов;Иван;;;\r\n"
        "FN:Иван Смирнов\r\n"
        "ORG:ООО «Ромашка\\, филиал»;Отдел продаж;\r\n"
        "EMAIL;type=INTERNET;type=WORK;type=pref:ivan@romashka.ru\r\n"
        "item1.TEL;type=CELL;type=VOICE;type=pref:+7 (916) 555-44-33\r\n"
        "item1.X-ABLabel:_$!<Mobile>!$_\r\n"
        "TEL;type=WORK;type=VOICE:+7 495 777-66-55\r\n"
        "TEL;type=HOME;type=VOICE:8 812 300-40-50\r\n"
        "BDAY;value=date:1979-11-30\r\n"
        "NOTE:Звонить после 14:00\\, спрашивать про\r\n"
        "  КП\r\n"
        "CATEGORIES:vip,опт\r\n"
        "END:VCARD\r\n"
    )
    path = folder / "iPhone.vcf"
    path.write_text(text, encoding="utf-8")
    return path


GOOGLE_CSV = (
    "Name,Given Name,Family Name,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,"
    "E-mail 1 - Type,E-mail 1 - Value,Organization 1 - Name,Birthday\n"
    "Мария Орлова,Мария,Орлова,Mobile,+7 916 700-00-01 ::: +7 916 700-00-02,Work,8 495 700-00-03,"
    '* Home,maria@orlova.ru,"ООО Луч, СПб",1992-01-31\n'
)


def google_csv(folder: Path) -> Path:
    path = folder / "google.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOGLE_CSV.encode("utf-8"))
    return path
