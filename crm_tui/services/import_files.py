"""Reading the files people bring: CSV as Excel and other programs save it, XLSX, vCard, JSON.

Every reader streams: it yields ``(line, record)`` one record at a time, where ``line`` is where the
record starts in the file (a CSV line, a spreadsheet row, a vCard's ``BEGIN`` line, a JSON array's item
number) and ``record`` maps each column header to its text. A vCard's repeated properties (several
``TEL`` and ``EMAIL``) come as one column each, their values joined with ``"; "``.

- **CSV**: the encoding is detected by ``charset-normalizer`` from the first 256 KB (a UTF-8 BOM wins),
  so Russian Excel's Windows-1251 "CSV" reads as well as UTF-8; the delimiter (``,`` ``;`` or tab) is
  sniffed from the header; quoted fields may hold delimiters, quotes and line breaks; CRLF or LF.
- **XLSX**: openpyxl in read-only mode, the first sheet or the one named; dates become ``YYYY-MM-DD``
  and whole numbers lose Excel's ``.0`` (a phone typed as a number).
- **vCard** 2.1/3.0/4.0: folded lines, ``QUOTED-PRINTABLE`` (with soft line breaks and ``CHARSET``),
  ``N`` and ``FN``, every ``TEL`` and ``EMAIL``, ``ORG``, ``BDAY``, ``CATEGORIES``, ``NOTE``.
- **JSON**: an array of objects (a list value is joined with ``"; "``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from crm_tui.services.errors import InvalidInput

FORMATS = ("csv", "xlsx", "vcf", "json")
SAMPLE_BYTES = 256 * 1024
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
_EXTENSIONS |= {".vcf": "vcf", ".vcard": "vcf", ".json": "json"}

Record = dict[str, str]


@dataclass
class Source:
    """An opened file: its format, encoding and delimiter (CSV), headers, and its records (once)."""

    path: Path
    file_format: str
    headers: list[str]
    records: Iterator[tuple[int, Record]]
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def file_format(path: Path, given: str | None) -> str:
    if given:
        value = given.strip().lower().lstrip(".")
        value = {"vcard": "vcf", "excel": "xlsx", "tsv": "csv"}.get(value, value)
        if value not in FORMATS:
            raise InvalidInput(
                f"Unknown format {given!r}: csv, xlsx, vcf or json",
                {"format": "csv, xlsx, vcf or json"},
                code="import.format",
                params={"value": given},
            )
        return value
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            f"Cannot tell the format of {path.name}: give --format csv, xlsx, vcf or json",
            {"format": "give --format"},
            code="import.format_unknown",
            params={"file": path.name},
        )
    return found


def open_source(path: Path, given_format: str | None = None, *, sheet: str | None = None) -> Source:
    """Open ``path`` for reading its records; a missing or unreadable file is refused."""
    if not path.is_file():
        raise InvalidInput(
            f"No such file: {path}", {"file": "not found"}, code="import.no_file", params={"file": str(path)}
        )
    fmt = file_format(path, given_format)
    if fmt == "csv":
        return _open_csv(path)
    if fmt == "xlsx":
        return _open_xlsx(path, sheet)
    if fmt == "vcf":
        return _open_vcf(path)
    return _open_json(path)


# --- CSV ------------------------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """The sample's encoding: ``utf-8-sig`` for a BOM, else what charset-normalizer finds (UTF-8 when
    the sample is plain ASCII)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    from charset_normalizer import from_bytes

    # A sample cut inside a multi-byte character still reads as UTF-8 once the tail is dropped.
    best = from_bytes(sample[: _last_line_end(sample)] or sample).best()
    if best is None:
        raise InvalidInput(
            "The file is not text (no encoding fits it): is it really CSV?",
            {"file": "not text"},
            code="import.not_text",
        )
    encoding = best.encoding.lower().replace("_", "-")
    return "utf-8" if encoding in ("ascii", "utf-8") else encoding


def _last_line_end(sample: bytes) -> int:
    if len(sample) < SAMPLE_BYTES:
        return len(sample)
    return sample.rfind(b"\n") + 1


def sniff_delimiter(header_text: str) -> str:
    """``,`` ``;`` or tab: the one that splits the header line into the most columns (csv.Sniffer guesses
    wrong on a one-line header, and Excel's ``;`` file often has commas inside names)."""
    try:
        return csv.Sniffer().sniff(header_text, delimiters=",;\t").delimiter
    except csv.Error:
        pass
    first = header_text.splitlines()[0] if header_text else ""
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d])


def _open_csv(path: Path) -> Source:
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    text = sample[: _last_line_end(sample)].decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = _delimiter_from(text)
    handle = path.open(encoding=encoding, newline="", errors="strict")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        headers = []
    except UnicodeDecodeError as error:
        handle.close()
        raise _bad_bytes(encoding, error) from error

    def records() -> Iterator[tuple[int, Record]]:
        try:
            start = reader.line_num + 1
            for row in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in row):
                    continue
                yield line, {h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)}
        except UnicodeDecodeError as error:
            raise _bad_bytes(encoding, error) from error
        finally:
            handle.close()

    return Source(path, "csv", headers, records(), encoding=encoding, delimiter=delimiter)


def _delimiter_from(text: str) -> str:
    # Sniff on whole records: the first few lines that csv can read (a quoted line break is kept).
    lines = text.splitlines(keepends=True)[:20]
    return sniff_delimiter("".join(lines))


def _bad_bytes(encoding: str, error: UnicodeDecodeError) -> InvalidInput:
    return InvalidInput(
        f"The file is not all {encoding}: a byte at position {error.start} does not fit; save it again "
        "as UTF-8 or Windows-1251",
        {"file": "mixed encodings"},
        code="import.encoding",
        params={"encoding": encoding, "position": error.start},
    )


# --- XLSX -----------------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_xlsx(path: Path, sheet: str | None) -> Source:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - a corrupt or foreign file is the user's input
        raise InvalidInput(
            f"Cannot read {path.name} as an Excel workbook: {error}",
            {"file": "not an xlsx workbook"},
            code="import.xlsx",
            params={"file": path.name},
        ) from error
    if sheet:
        if sheet not in book.sheetnames:
            book.close()
            raise InvalidInput(
                f"No sheet {sheet!r} in {path.name}; its sheets: {', '.join(book.sheetnames)}",
                {"sheet": "no such sheet"},
                code="import.sheet",
                params={"sheet": sheet, "sheets": book.sheetnames},
            )
        ws = book[sheet]
    else:
        ws = book.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    headers: list[str] = []
    header_line = 0
    for header_line, first in enumerate(rows, start=1):  # noqa: B007 - the header's row is kept
        headers = [cell_text(v).strip() for v in first]
        if any(headers):
            break
    while headers and not headers[-1]:
        headers.pop()

    def records() -> Iterator[tuple[int, Record]]:
        try:
            for line, row in enumerate(rows, start=header_line + 1):
                values = [cell_text(v) for v in row]
                if not any(v.strip() for v in values):
                    continue
                yield line, {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers) if h}
        finally:
            book.close()

    return Source(path, "xlsx", [h for h in headers if h], records(), sheet=ws.title)


# --- vCard ----------------------------------------------------------------------------------------------

VCARD_HEADERS = ["FN", "N", "TEL", "EMAIL", "ORG", "TITLE", "BDAY", "CATEGORIES", "NOTE"]
_VCARD_PROPERTY = re.compile(r"^(?:[\w-]+\.)?([\w-]+)((?:;[^:]*)?):(.*)$", re.S)


def _unfold(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Logical lines: a line starting with a space or tab continues the previous one (RFC 6350), and a
    quoted-printable line ending in ``=`` continues on the next (vCard 2.1, Android, Outlook)."""
    pending: tuple[int, str] | None = None
    for number, line in lines:
        if pending is not None and line[:1] in (" ", "\t"):
            pending = (pending[0], pending[1] + line[1:])
            continue
        if pending is not None and _soft_break(pending[1]):
            pending = (pending[0], pending[1][:-1] + line.lstrip())
            continue
        if pending is not None:
            yield pending
        pending = (number, line)
    if pending is not None:
        yield pending


def _soft_break(line: str) -> bool:
    head = line.split(":", 1)[0].upper()
    return "QUOTED-PRINTABLE" in head and line.endswith("=")


def _params(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in text.split(";"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if not _:
            found.setdefault("TYPE", "")
            found["TYPE"] = ",".join(filter(None, [found["TYPE"], key]))
            if key.upper() in ("QUOTED-PRINTABLE", "BASE64"):
                found["ENCODING"] = key
            continue
        found[key.upper()] = value.strip('"')
    return found


def _vcard_value(raw: str, params: dict[str, str]) -> str:
    if params.get("ENCODING", "").upper() == "QUOTED-PRINTABLE":
        charset = params.get("CHARSET", "utf-8")
        try:
            raw = quopri.decodestring(raw.encode("ascii", errors="replace")).decode(charset, errors="replace")
        except LookupError:
            raw = quopri.decodestring(raw.encode("ascii", errors="replace")).decode("utf-8", errors="replace")
    return raw


def _unescape(text: str) -> str:
    return re.sub(r"\\([nN,;\\])", lambda m: "\n" if m[1] in "nN" else m[1], text).strip()


def _split_unescaped(text: str, sep: str) -> list[str]:
    return [_unescape(p) for p in re.split(r"(?<!\\)" + re.escape(sep), text)]


def _open_vcf(path: Path) -> Source:
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    handle = path.open(encoding=encoding, newline="", errors="replace")

    def physical() -> Iterator[tuple[int, str]]:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\r\n")

    def records() -> Iterator[tuple[int, Record]]:
        card: dict[str, list[str]] | None = None
        start = 0
        try:
            for number, line in _unfold(physical()):
                match = _VCARD_PROPERTY.match(line)
                if match is None:
                    continue
                name, params_text, raw = match[1].upper(), match[2], match[3]
                if name == "BEGIN" and raw.strip().upper() == "VCARD":
                    card, start = {}, number
                    continue
                if card is None:
                    continue
                if name == "END":
                    yield start, _card_record(card)
                    card = None
                    continue
                value = _vcard_value(raw, _params(params_text))
                card.setdefault(name, []).append(value)
        finally:
            handle.close()

    return Source(path, "vcf", list(VCARD_HEADERS), records(), encoding=encoding)


def _card_record(card: dict[str, list[str]]) -> Record:
    record: Record = dict.fromkeys(VCARD_HEADERS, "")
    full = _unescape(card.get("FN", [""])[0])
    n_parts = _split_unescaped(card.get("N", [""])[0], ";")
    from_n = " ".join(p for p in (n_parts[1:2] + n_parts[2:3] + n_parts[:1]) if p)
    # N is family;given;middle: "Иванова Анна Сергеевна" as Russians write it when there is no FN
    record["FN"] = full or " ".join(p for p in (n_parts[:1] + n_parts[1:3]) if p) or from_n
    record["N"] = ";".join(n_parts)
    record["TEL"] = "; ".join(v for v in (_unescape(t) for t in card.get("TEL", [])) if v)
    record["EMAIL"] = "; ".join(v for v in (_unescape(e) for e in card.get("EMAIL", [])) if v)
    record["ORG"] = _split_unescaped(card.get("ORG", [""])[0], ";")[0]
    record["TITLE"] = _unescape(card.get("TITLE", [""])[0])
    record["BDAY"] = _bday(card.get("BDAY", [""])[0])
    record["CATEGORIES"] = "; ".join(_split_unescaped(",".join(card.get("CATEGORIES", [])), ","))
    record["NOTE"] = _unescape(card.get("NOTE", [""])[0])
    return record


def _bday(text: str) -> str:
    value = text.strip()
    if re.fullmatch(r"\d{8}", value):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if value.startswith("--"):  # a birthday without the year (vCard 4.0): nothing to store
        return ""
    return value[:10] if re.match(r"\d{4}-\d{2}-\d{2}", value) else value


# --- JSON -----------------------------------------------------------------------------------------------


def _open_json(path: Path) -> Source:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"{path.name} is not JSON: {error}", {"file": "not JSON"}, code="import.json", params={}
        ) from error
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else data
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InvalidInput(
            f'{path.name} must hold an array of objects ([{{"name": ...}}, ...])',
            {"file": "an array of objects"},
            code="import.json_shape",
            params={},
        )
    headers: list[str] = list(dict.fromkeys(str(k) for item in data for k in item))

    def text(value: object) -> str:
        if isinstance(value, list):
            return "; ".join(text(v) for v in value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return cell_text(value)

    def records() -> Iterator[tuple[int, Record]]:
        for number, item in enumerate(data, start=1):
            yield number, {str(k): text(v) for k, v in item.items()}

    return Source(path, "json", headers, records())


# --- writing rejects ------------------------------------------------------------------------------------


def rejects_path(path: Path) -> Path:
    suffix = path.suffix if path.suffix.lower() != ".vcf" else ".csv"
    return path.with_name(f"{path.stem}.rejected{suffix}")


class RejectsWriter:
    """The rows refused, written beside the input in its own format and encoding with a ``reason``
    column (a vCard's rows go to a CSV): fix them there and import that file."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.path = rejects_path(source.path)
        self.count = 0
        self.headers = [*source.headers, REASON_COLUMN]
        self._rows: list[list[str]] = []
        self._json: list[dict[str, str]] = []
        self._handle: io.TextIOBase | None = None
        self._writer: Any = None

    def add(self, record: Record, reason: str) -> None:
        self.count += 1
        if self.source.file_format == "json":
            self._json.append({**record, REASON_COLUMN: reason})
            return
        values = [record.get(h, "") for h in self.source.headers] + [reason]
        if self.source.file_format == "xlsx":
            self._rows.append(values)
            return
        if self._writer is None:
            encoding = self.source.encoding if self.source.file_format == "csv" else "utf-8-sig"
            delimiter = self.source.delimiter if self.source.file_format == "csv" else ";"
            handle = self.path.open("w", encoding=encoding, newline="", errors="replace")
            self._handle = handle  # type: ignore[assignment]
            self._writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
            self._writer.writerow(self.headers)
        self._writer.writerow(values)

    def close(self) -> Path | None:
        if self.count == 0:
            return None
        if self._handle is not None:
            self._handle.close()
        if self.source.file_format == "json":
            self.path.write_text(
                json.dumps(self._json, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        if self.source.file_format == "xlsx":
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet(self.source.sheet or "rejected")
            sheet.append(self.headers)
            for row in self._rows:
                sheet.append(row)
            book.save(self.path)
        return self.path


REASON_COLUMN = "reason"
