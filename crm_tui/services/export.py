"""Export: the desk's records as files other programs open.

- ``csv``: UTF-8, a header row, ``,``; times in UTC ISO format, money in minor units (as ``--json``).
- ``excel``: the CSV that Russian Excel opens right by a double click: ``;``, a UTF-8 BOM, money in
  roubles with a decimal comma, dates ``dd.mm.yyyy`` and times ``dd.mm.yyyy hh:mm`` in local time.
- ``xlsx``: typed cells (dates as dates, money as numbers with a currency format), one sheet per kind.
- ``json``: an array of objects (times UTC ISO, money in minor units); ``all`` as JSON is the complete
  dump of the desk (every table that holds desk data, with ids): see :func:`write_dump`.
- ``vcf``: contacts as vCard 4.0; ``ics``: open tasks as iCalendar events with a reminder.

Every export streams: rows are read a page at a time by keyset on the id inside one read transaction
(one consistent moment), converted and written; a million leads never sit in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from peewee import JOIN, BooleanField, DateField, DateTimeField, Field, ForeignKeyField, IntegerField, Model

from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import (
    LEAD_STATUSES,
    Company,
    Contact,
    ContactChannel,
    Deal,
    Interaction,
    Lead,
    Stage,
    Task,
    User,
)
from crm_tui.services.errors import InvalidInput

KINDS = ("contacts", "companies", "leads", "deals", "tasks", "interactions")
FORMATS = ("csv", "xlsx", "json", "vcf", "ics")
PAGE = 2000
DUMP_FORMAT = "crm-tui-desk"
DUMP_VERSION = 1
# Derived tables a dump leaves out: rebuilt from the others (search index, stage totals by triggers).
DERIVED_PREFIXES = ("search_index", "sqlite_", "stage_total")
INTERNAL = {("task", "reminded_slot"), ("task", "reminded_at"), ("task", "next_remind_at")}
MONEY = {("deal", "amount"), ("product", "price")}


@dataclass(frozen=True)
class Filters:
    status: str | None = None  # leads: a status or "open"; deals: open, won, lost; tasks: open, done
    source: str | None = None  # leads: utm_source
    owner_id: int | None = None  # the owner (tasks: the assignee, interactions: who logged it)
    stage_id: int | None = None  # deals
    include_archived: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id, int, text, money, currency, datetime, date, bool, phone, list
    expr: Any = None  # a peewee expression to select; None for columns filled after (phones, e-mails)


@dataclass(frozen=True)
class ExportResult:
    kind: str
    format: str
    path: str
    rows: int


class ExportError(InvalidInput):
    code = "export.invalid"


# --------------------------------------------------------------------------------------- the rows
def _kind_of(model: type[Model], field: Field) -> str:
    table = model._meta.table_name
    if (table, field.name) in MONEY:
        return "money"
    if field.name == "currency":
        return "currency"
    if field.name == "phone":
        return "phone"
    if isinstance(field, ForeignKeyField):
        return "int"
    if isinstance(field, DateTimeField):
        return "datetime"
    if isinstance(field, DateField):
        return "date"
    if isinstance(field, BooleanField):
        return "bool"
    if isinstance(field, IntegerField):
        return "id" if field.primary_key else "int"
    return "text"


MODELS: dict[str, type[Model]] = {
    "contacts": Contact,
    "companies": Company,
    "leads": Lead,
    "deals": Deal,
    "tasks": Task,
    "interactions": Interaction,
}


def _user_alias(name: str) -> Any:
    return User.alias(f"u_{name}")


@dataclass
class Plan:
    """What one kind's export selects: columns (the model's own, whatever columns it has today, and
    names looked up beside their ids), joins, and the filters' conditions."""

    kind: str
    model: type[Model]
    columns: list[Column]
    joins: list[tuple[Any, Any]]
    where: list[Any]


def plan(kind: str, flt: Filters) -> Plan:
    model = MODELS[kind]
    table = model._meta.table_name
    columns: list[Column] = []
    joins: list[tuple[Any, Any]] = []
    for field in model._meta.sorted_fields:
        if (table, field.name) in INTERNAL:
            continue
        if isinstance(field, ForeignKeyField):
            columns.append(Column(f"{field.name}_id", "int", field))
            target = field.rel_model
            if target is User:
                alias = _user_alias(field.name)
                joins.append((alias, field == alias.id))
                columns.append(Column(field.name, "text", alias.login))
            elif target is Stage:
                alias = Stage.alias(f"s_{field.name}")
                joins.append((alias, field == alias.id))
                columns.append(Column(field.name, "text", alias.name))
            elif target is Company:
                alias = Company.alias(f"c_{field.name}")
                joins.append((alias, field == alias.id))
                columns.append(Column(field.name, "text", alias.name))
            elif target is Contact:
                alias = Contact.alias(f"p_{field.name}")
                joins.append((alias, field == alias.id))
                columns.append(Column(field.name, "text", alias.name))
            elif target is Lead and kind in ("tasks", "interactions"):
                alias = Lead.alias(f"l_{field.name}")
                joins.append((alias, field == alias.id))
                columns.append(Column(field.name, "text", alias.name))
            elif target is Deal and kind in ("tasks", "interactions"):
                alias = Deal.alias(f"d_{field.name}")
                joins.append((alias, field == alias.id))
                columns.append(Column(field.name, "text", alias.title))
            continue
        columns.append(Column(field.column_name, _kind_of(model, field), field))
    if model is Contact:
        columns.insert(2, Column("phones", "list"))
        columns.insert(3, Column("emails", "list"))
    if model is Deal:
        stage_kind = Stage.alias("s_stage").kind
        columns.insert(
            next(i for i, c in enumerate(columns) if c.name == "stage") + 1,
            Column("stage_kind", "text", stage_kind),
        )
    return Plan(kind, model, columns, joins, _conditions(kind, model, flt))


def _conditions(kind: str, model: type[Model], flt: Filters) -> list[Any]:
    where: list[Any] = []
    if flt.source is not None and kind != "leads":
        raise _wrong_filter("--source", "leads")
    if flt.stage_id is not None and kind != "deals":
        raise _wrong_filter("--stage", "deals")
    if flt.status is not None:
        if kind == "leads":
            from crm_tui.services.leads import OPEN_STATUSES

            if flt.status == "open":
                where.append(Lead.status.in_(OPEN_STATUSES))
            elif flt.status in LEAD_STATUSES:
                where.append(Lead.status == flt.status)
            else:
                raise _bad_status(flt.status, (*LEAD_STATUSES, "open"))
        elif kind == "deals":
            if flt.status not in ("open", "won", "lost"):
                raise _bad_status(flt.status, ("open", "won", "lost"))
            where.append(Stage.alias("s_stage").kind == flt.status)
        elif kind == "tasks":
            if flt.status not in ("open", "done"):
                raise _bad_status(flt.status, ("open", "done"))
            where.append(Task.done_at.is_null(flt.status == "open"))
        else:
            raise _wrong_filter("--status", "leads, deals and tasks")
    if flt.source is not None:
        where.append(Lead.utm_source == flt.source)
    if flt.stage_id is not None:
        where.append(Deal.stage == flt.stage_id)
    if flt.owner_id is not None:
        owner = {"tasks": "assignee", "interactions": "by"}.get(kind, "owner")
        where.append(getattr(model, owner) == flt.owner_id)
    archived = getattr(model, "archived_at", None)
    if archived is not None and not flt.include_archived:
        where.append(archived.is_null())
    return where


def _wrong_filter(option: str, kinds: str) -> ExportError:
    return ExportError(
        f"{option} applies to {kinds} only",
        {option.strip("-"): "not for this kind"},
        code="export.filter",
        params={"option": option, "kinds": kinds},
    )


def _bad_status(status: str, allowed: Sequence[str]) -> ExportError:
    return ExportError(
        f"Unknown status {status!r}; one of: {', '.join(allowed)}",
        {"status": "unknown"},
        code="export.status",
        params={"status": status, "allowed": list(allowed)},
    )


def raw_rows(p: Plan, page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """The plan's rows in id order as the database driver returns them (SQLite: times as text, booleans
    as 0/1), a page at a time: keyset on the id, the same cost at any depth. Peewee builds the query
    but does not convert the values: that cost more than all the rest of a CSV export."""
    selected = [c.expr for c in p.columns if c.expr is not None]
    filled = [i for i, c in enumerate(p.columns) if c.expr is None]
    query = p.model.select(*selected)
    for alias, on in p.joins:
        query = query.join_from(p.model, alias, JOIN.LEFT_OUTER, on=on)
    for condition in p.where:
        query = query.where(condition)
    last = 0
    while True:
        sql, params = query.where(p.model.id > last).order_by(p.model.id).limit(page).sql()
        batch = database.execute_sql(sql, params).fetchall()
        if not batch:
            return
        last = batch[-1][0]
        if filled:
            extra = _channels([r[0] for r in batch]) if p.model is Contact else {}
            for r in batch:
                out = list(r)
                for i in filled:
                    out.insert(i, extra.get(r[0], {}).get(p.columns[i].name, []))
                yield tuple(out)
        else:
            yield from batch


def _to_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _to_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _to_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


TYPED = {"datetime": _to_datetime, "date": _to_date, "bool": _to_bool}


def rows(p: Plan, page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """The plan's rows with Python values: datetimes, dates and booleans on either backend."""
    convert = [(i, TYPED[c.kind]) for i, c in enumerate(p.columns) if c.kind in TYPED]
    for raw in raw_rows(p, page):
        row = list(raw)
        for i, to in convert:
            row[i] = to(row[i])
        yield tuple(row)


def _channels(contact_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = {}
    query = (
        ContactChannel.select(ContactChannel.contact, ContactChannel.kind, ContactChannel.value)
        .where(ContactChannel.contact.in_(contact_ids))
        .order_by(ContactChannel.contact, ContactChannel.position, ContactChannel.id)
        .tuples()
    )
    for contact_id, kind, value in query:
        found.setdefault(contact_id, {}).setdefault("phones" if kind == "phone" else "emails", []).append(
            value
        )
    return found


@contextmanager
def snapshot() -> Iterator[None]:
    """One read transaction for the whole export: every page sees the same moment of the desk. On SQLite
    a deferred transaction (readers never block writers in WAL mode); on PostgreSQL repeatable read."""
    if is_postgres():
        with database.atomic():
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    with database.manual_commit():
        database.execute_sql("BEGIN DEFERRED")
        try:
            yield
        finally:
            database.execute_sql("COMMIT")


# -------------------------------------------------------------------------------------- the cells
def _iso(value: Any) -> str:
    """A stored time as ISO text: SQLite's ``2026-03-02 09:00:00`` or PostgreSQL's datetime."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace(" ", "T", 1)
    return value.isoformat()


_OFFSETS: dict[datetime, timedelta] = {}


def _local(moment: datetime) -> datetime:
    """UTC -> local time, the zone's offset looked up once an hour of the data (DST moves on hours)."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    offset = _OFFSETS.get(hour)
    if offset is None:
        from crm_tui.services.clock import to_local

        offset = _OFFSETS[hour] = to_local(hour) - hour
    return moment + offset


def _ru_datetime(value: Any) -> str:
    if value is None:
        return ""
    d = _local(value)
    return f"{d.day:02d}.{d.month:02d}.{d.year} {d.hour:02d}:{d.minute:02d}"


def _ru_date(value: Any) -> str:
    return "" if value is None else f"{value.day:02d}.{value.month:02d}.{value.year}"


def _roubles(value: Any) -> str:
    """Minor units as a Russian decimal: ``15000050`` -> ``150000,50``."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(int(value)), 100)
    return f"{sign}{whole},{cents:02d}"


def _phone_text(value: Any) -> str:
    """E.164 as people read it: ``+7 916 123-45-67`` (Russian numbers without a library call)."""
    if not value:
        return ""
    if len(value) == 12 and value.startswith("+7") and value[1:].isdigit():
        return f"+7 {value[2:5]} {value[5:8]}-{value[8:10]}-{value[10:]}"
    from crm_tui.services.validation import format_phone

    return format_phone(value)


def _safe_text(value: Any) -> str:
    """A person's text for a spreadsheet: a leading ``= + - @`` would make a formula of it (a web form's
    visitor could write one), so such text starts with an apostrophe."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_cell(kind: str) -> Callable[[Any], Any]:
    """A raw value (:func:`raw_rows`) as a plain CSV cell."""
    if kind in ("datetime", "date"):
        return _iso
    if kind == "bool":
        return lambda v: "" if v is None else ("true" if v else "false")
    if kind == "list":
        return lambda v: "; ".join(v)
    return lambda v: "" if v is None else v


def excel_cell(kind: str) -> Callable[[Any], Any]:
    if kind == "datetime":
        return _ru_datetime
    if kind == "date":
        return _ru_date
    if kind == "money":
        return _roubles
    if kind == "bool":
        return lambda v: "" if v is None else ("да" if v else "нет")
    if kind == "phone":
        return lambda v: f'="{_phone_text(v)}"' if v else ""
    if kind == "list":
        return lambda v: "; ".join(_phone_text(x) if x.startswith("+") else x for x in v)
    if kind == "text":
        return _safe_text
    return lambda v: "" if v is None else v


def excel_header(name: str, kind: str) -> str:
    return f"{name} (₽)" if kind == "money" else name


# ------------------------------------------------------------------------------------- the writers
def write_csv(p: Plan, out: IO[str], *, excel: bool = False) -> int:
    """The plan's rows as CSV on ``out`` (opened with ``newline=""``); returns the number of rows."""
    if excel:
        out.write("\ufeff")
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([excel_header(c.name, c.kind) for c in p.columns])
        cells = [excel_cell(c.kind) for c in p.columns]
        source = rows(p)
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.name for c in p.columns])
        # only what needs converting is converted: the rest goes to the writer as the driver gave it
        cells = [
            csv_cell(c.kind) if c.kind in ("datetime", "date", "bool", "list") else None for c in p.columns
        ]
        source = raw_rows(p)
    writerow = writer.writerow
    convert = [(i, cell) for i, cell in enumerate(cells) if cell is not None]
    count = 0
    for count, raw in enumerate(source, 1):  # noqa: B007 - the count is the result
        row = list(raw)
        for i, cell in convert:
            row[i] = cell(row[i])
        writerow(row)
    return count


def _json_cell(kind: str) -> Callable[[Any], Any] | None:
    if kind in ("datetime", "date"):
        return lambda v: None if v is None else _iso(v)
    if kind == "bool":
        return _to_bool
    if kind in ("money", "int", "id"):
        return lambda v: int(v) if isinstance(v, Decimal) else v
    return None


def write_json(p: Plan, out: IO[str]) -> int:
    """A JSON array of objects, one per row, written as it is read: times UTC ISO, money minor units."""
    names = [c.name for c in p.columns]
    convert = [(i, cell) for i, c in enumerate(p.columns) if (cell := _json_cell(c.kind)) is not None]
    out.write("[")
    count = 0
    for count, raw in enumerate(raw_rows(p), 1):  # noqa: B007
        row = list(raw)
        for i, cell in convert:
            row[i] = cell(row[i])
        item = dict(zip(names, row, strict=True))
        out.write(("\n  " if count == 1 else ",\n  ") + json.dumps(item, ensure_ascii=False))
    out.write("\n]\n" if count else "]\n")
    return count


XLSX_FORMATS = {
    "datetime": "DD.MM.YYYY HH:MM",
    "date": "DD.MM.YYYY",
}
XLSX_MONEY = {"RUB": '#,##0.00 "₽"', "USD": '"$"#,##0.00', "EUR": '#,##0.00 "€"'}
XLSX_WIDTHS = {"id": 8, "int": 10, "datetime": 17, "date": 12, "money": 16, "phone": 18, "currency": 9}


XLSX_MAX_ROWS = 1_048_575  # a sheet's rows in Excel, less the header: more go on to "leads (2)"


def _new_sheet(workbook: Any, p: Plan, title: str) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title=title)
    sheet.freeze_panes = "A2"
    for i, c in enumerate(p.columns, 1):
        sheet.column_dimensions[get_column_letter(i)].width = XLSX_WIDTHS.get(c.kind, 24)
    bold = Font(bold=True)
    header = []
    for c in p.columns:
        cell = WriteOnlyCell(sheet, value=c.name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet


def write_xlsx_sheet(workbook: Any, p: Plan, title: str, *, max_rows: int = XLSX_MAX_ROWS) -> int:
    """One sheet of typed cells: ids and counts as numbers, dates as dates, money as roubles; text is
    text even when it starts with ``=`` (a web form's visitor cannot plant a formula)."""
    from openpyxl.cell import WriteOnlyCell

    sheet = _new_sheet(workbook, p, title)
    currency_at = next((i for i, c in enumerate(p.columns) if c.kind == "currency"), None)
    kinds = [c.kind for c in p.columns]
    count = 0
    for count, row in enumerate(rows(p), 1):  # noqa: B007
        if count > 1 and (count - 1) % max_rows == 0:
            sheet = _new_sheet(workbook, p, f"{title} ({(count - 1) // max_rows + 1})")
        line: list[Any] = []
        for kind, value in zip(kinds, row, strict=True):
            if value is None:
                line.append(None)
            elif kind == "datetime":
                cell = WriteOnlyCell(sheet, value=_local(value))
                cell.number_format = XLSX_FORMATS["datetime"]
                line.append(cell)
            elif kind == "date":
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = XLSX_FORMATS["date"]
                line.append(cell)
            elif kind == "money":
                currency = row[currency_at] if currency_at is not None else "RUB"
                cell = WriteOnlyCell(sheet, value=int(value) / 100)
                cell.number_format = XLSX_MONEY.get(currency, "#,##0.00")
                line.append(cell)
            elif kind == "phone":
                line.append(_phone_text(value))
            elif kind == "list":
                line.append("; ".join(_phone_text(x) if x.startswith("+") else x for x in value))
            elif kind == "text" and isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                line.append(cell)
            else:
                line.append(value)
        sheet.append(line)
    return count


def write_xlsx(plans: Sequence[Plan], out: IO[bytes]) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    count = sum(write_xlsx_sheet(workbook, p, p.kind) for p in plans)
    workbook.save(out)
    return count


# ------------------------------------------------------------------------------- vCard, iCalendar
def fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1, RFC 6350 3.2), never inside a UTF-8 character;
    continuation lines start with a space. Ends with CRLF."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: step back
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74
    return "\r\n ".join(parts) + "\r\n"


def escape(text: str) -> str:
    """A TEXT value: backslash, comma, semicolon and new lines escaped (RFC 6350 3.4, RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


PATRONYMIC_ENDINGS = ("вич", "вна", "чна", "ична", "оглы", "кызы")


def name_parts(full: str) -> tuple[str, str, str]:
    """(family, given, additional) of a name as Russian desks write them: "Сидоров Пётр Иванович"
    (family first when the last word is a patronymic) or "Пётр Сидоров" / "John Smith"."""
    words = full.split()
    if len(words) == 3 and words[2].lower().endswith(PATRONYMIC_ENDINGS):
        return words[0], words[1], words[2]
    if len(words) >= 2:
        return words[-1], " ".join(words[:-1]), ""
    return "", full.strip(), ""


LABEL_TYPES = {
    "work": "work",
    "рабочий": "work",
    "home": "home",
    "домашний": "home",
    "mobile": "cell",
    "cell": "cell",
    "мобильный": "cell",
}


def write_vcards(p: Plan, out: IO[str], *, now: datetime) -> int:
    """Contacts as vCard 4.0: several phones (tel: URIs) and e-mails, the company as ORG."""
    index = {c.name: i for i, c in enumerate(p.columns)}
    labels = _channel_labels
    count = 0
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for count, row in enumerate(rows(p), 1):  # noqa: B007
        contact_id = row[index["id"]]
        name = str(row[index["name"]] or "")
        family, given, additional = name_parts(name)
        lines = [
            "BEGIN:VCARD",
            "VERSION:4.0",
            f"UID:urn:crm-tui:contact:{contact_id}",
            f"FN:{escape(name)}",
            f"N:{escape(family)};{escape(given)};{escape(additional)};;",
        ]
        if row[index["company"]]:
            lines.append(f"ORG:{escape(str(row[index['company']]))}")
        kinds = labels(contact_id)
        for n, phone in enumerate(row[index["phones"]], 1):
            kind = LABEL_TYPES.get(kinds.get(("phone", phone), "").lower(), "voice")
            pref = ";PREF=1" if n == 1 else ""
            lines.append(f"TEL;VALUE=uri;TYPE={kind}{pref}:tel:{phone}")
        for n, email in enumerate(row[index["emails"]], 1):
            kind = LABEL_TYPES.get(kinds.get(("email", email), "").lower(), "")
            extra = (f";TYPE={kind}" if kind in ("work", "home") else "") + (";PREF=1" if n == 1 else "")
            lines.append(f"EMAIL{extra}:{email}")
        birthday = row[index["birthday"]] if "birthday" in index else None
        if birthday:
            lines.append(f"BDAY:{birthday:%Y%m%d}")
        tags = row[index["tags"]] if "tags" in index else ""
        if tags:
            lines.append(
                "CATEGORIES:" + ",".join(escape(t.strip()) for t in str(tags).split(",") if t.strip())
            )
        lines += [f"REV:{stamp}", "END:VCARD"]
        out.write("".join(fold(line) for line in lines))
    return count


def _channel_labels(contact_id: int) -> dict[tuple[str, str], str]:
    query = ContactChannel.select(ContactChannel.kind, ContactChannel.value, ContactChannel.label).where(
        ContactChannel.contact == contact_id, ContactChannel.label != ""
    )
    return {(k, v): label for k, v, label in query.tuples()}


def _ics_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def write_ics(p: Plan, out: IO[str], *, now: datetime, duration: timedelta = timedelta(minutes=15)) -> int:
    """Open tasks as an iCalendar file: a VEVENT at the due time with a VALARM when it starts, which every
    calendar imports (Google, Outlook, Apple, Thunderbird). Times in UTC."""
    index = {c.name: i for i, c in enumerate(p.columns)}
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//crm-tui//tasks//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:crm-tui",
    ]
    out.write("".join(fold(line) for line in head))
    stamp = _ics_time(now)
    count = 0
    for count, row in enumerate(rows(p), 1):  # noqa: B007
        due = row[index["due_at"]]
        title = str(row[index["title"]] or "")
        about = [
            f"{label}: {row[index[key]]}"
            for key, label in (("lead", "lead"), ("contact", "contact"), ("deal", "deal"))
            if key in index and row[index[key]]
        ]
        if "assignee" in index and row[index["assignee"]]:
            about.append(f"assignee: {row[index['assignee']]}")
        lines = [
            "BEGIN:VEVENT",
            f"UID:crm-tui-task-{row[index['id']]}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_time(due)}",
            f"DTEND:{_ics_time(due + duration)}",
            f"SUMMARY:{escape(title)}",
        ]
        if about:
            lines.append(f"DESCRIPTION:{escape(chr(10).join(about))}")
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape(title)}",
            "TRIGGER:PT0M",
            "END:VALARM",
            "END:VEVENT",
        ]
        out.write("".join(fold(line) for line in lines))
    out.write(fold("END:VCALENDAR"))
    return count


# ---------------------------------------------------------------------------------- the full dump
def dump_tables() -> list[str]:
    """Every table that holds desk data (not the search index nor the totals the triggers keep)."""
    return [t for t in sorted(database.get_tables()) if not t.startswith(DERIVED_PREFIXES)]


def _table_rows(table: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    q = f'"{table}"'
    cursor = database.execute_sql(f"SELECT * FROM {q} WHERE 1 = 0")
    names = [d[0] for d in cursor.description]
    if "id" not in names:
        return names, iter(database.execute_sql(f"SELECT * FROM {q}").fetchall())

    def paged() -> Iterator[tuple[Any, ...]]:
        mark = "%s" if is_postgres() else "?"
        at = names.index("id")
        last = -(2**62)
        while True:
            batch = database.execute_sql(
                f"SELECT * FROM {q} WHERE id > {mark} ORDER BY id LIMIT {PAGE}", (last,)
            ).fetchall()
            if not batch:
                return
            yield from batch
            last = batch[-1][at]

    return names, paged()


def _dump_value(value: Any) -> Any:
    """A stored value as JSON: times as SQLite stores them (``2026-03-02 09:00:00``, UTC) on either
    backend, dates ``2026-03-02``, money and ids as integers."""
    if isinstance(value, datetime | date):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def write_dump(out: IO[str], *, now: datetime) -> int:
    """The complete desk as JSON, the format a desk can be rebuilt from::

        {"format": "crm-tui-desk", "version": 1, "schema_version": 10, "exported_at": "...",
         "tables": {"lead": {"columns": ["id", "name", ...], "rows": [[1, "Иван", ...], ...]}, ...}}

    Each table's rows as stored: ids kept, times as stored (UTC), money in minor units; the search index
    and the stage totals are left out (rebuilt from the rest)."""
    from crm_tui.data.migrations import current_version

    header = {
        "format": DUMP_FORMAT,
        "version": DUMP_VERSION,
        "schema_version": current_version(database.obj),
        "exported_at": now.isoformat(),
    }
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "tables": {')
    total = 0
    for n, table in enumerate(dump_tables()):
        names, found = _table_rows(table)
        out.write(
            ("" if n == 0 else ",") + f'\n{json.dumps(table)}: {{"columns": {json.dumps(names)}, "rows": ['
        )
        for i, row in enumerate(found):
            values = [_dump_value(v) for v in row]
            out.write(("\n  " if i == 0 else ",\n  ") + json.dumps(values, ensure_ascii=False, default=str))
            total += 1
        out.write("]}")
    out.write("\n}}\n")
    return total


# ------------------------------------------------------------------------------------------- faces
def check(kind: str, fmt: str, excel: bool) -> None:
    if kind not in (*KINDS, "all"):
        raise ExportError(
            f"Nothing to export called {kind!r}; one of: {', '.join((*KINDS, 'all'))}",
            code="export.kind",
            params={"kind": kind},
        )
    if fmt not in FORMATS:
        raise ExportError(
            f"Unknown format {fmt!r}; one of: {', '.join(FORMATS)}",
            code="export.format",
            params={"format": fmt},
        )
    if excel and fmt != "csv":
        raise ExportError("--excel is a kind of CSV: use it with --format csv", code="export.excel")
    if fmt == "vcf" and kind != "contacts":
        raise ExportError("vCard (vcf) holds contacts: crm export contacts --format vcf", code="export.vcf")
    if fmt == "ics" and kind != "tasks":
        raise ExportError("iCalendar (ics) holds tasks: crm export tasks --format ics", code="export.ics")
    if kind == "all" and fmt not in ("json", "xlsx"):
        raise ExportError(
            "all exports as json (the complete desk) or xlsx (a sheet per kind)", code="export.all"
        )


def export(kind: str, fmt: str, out: IO[Any], flt: Filters, *, excel: bool = False, now: datetime) -> int:
    """Write ``kind`` in ``fmt`` on ``out`` (text opened with ``newline=""``, binary for xlsx); returns the
    number of rows written."""
    check(kind, fmt, excel)
    with snapshot():
        if kind == "all":
            if fmt == "json":
                return write_dump(out, now=now)
            return write_xlsx([plan(k, Filters(include_archived=flt.include_archived)) for k in KINDS], out)
        p = plan(kind, flt)
        if fmt == "csv":
            return write_csv(p, out, excel=excel)
        if fmt == "json":
            return write_json(p, out)
        if fmt == "xlsx":
            return write_xlsx([p], out)
        if fmt == "vcf":
            return write_vcards(p, out, now=now)
        if flt.status is None:
            p = plan(kind, Filters(status="open", owner_id=flt.owner_id))
        return write_ics(p, out, now=now)


def default_name(kind: str, fmt: str, excel: bool, now: datetime) -> str:
    suffix = {"csv": "csv", "xlsx": "xlsx", "json": "json", "vcf": "vcf", "ics": "ics"}[fmt]
    return f"crm-{kind}-{now:%Y-%m-%d}{'-excel' if excel else ''}.{suffix}"


# ------------------------------------------------------------------------------------- the reports
def report_csv(tables: Sequence[Any], *, excel: bool) -> str:
    """A report's tables (``services.reports.Table``) as one CSV: a ``table`` column first, a header row
    per table. ``excel``: the dialect Russian Excel opens by a double click, money in roubles."""
    from crm_tui.services.reports import to_csv

    if not excel:
        return to_csv(tables)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for t in tables:
        writer.writerow(["table", *(f"{c} (₽)" if i in t.money else c for i, c in enumerate(t.columns))])
        for row in t.rows:
            cells: list[Any] = [t.name]
            for i, v in enumerate(row):
                if v is None:
                    cells.append("")
                elif i in t.money:
                    cells.append(_roubles(v))
                elif isinstance(v, float):
                    cells.append(f"{v:.2f}".replace(".", ","))
                elif isinstance(v, datetime):
                    cells.append(_local(v).strftime("%d.%m.%Y %H:%M"))
                elif isinstance(v, date):
                    cells.append(v.strftime("%d.%m.%Y"))
                else:
                    cells.append(_safe_text(v) if isinstance(v, str) else v)
            writer.writerow(cells)
    return out.getvalue()
