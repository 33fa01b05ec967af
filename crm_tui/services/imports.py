"""Imports from files: a desk moving in brings its contacts, companies and leads from Excel, a phone or
another CRM (``crm import contacts FILE``).

One import is one **batch**:

1. The file is read as a stream (:mod:`crm_tui.services.import_files`); its columns are mapped to fields
   from Russian and English headers (``ФИО``, ``Телефон``, ``E-mail``, ``Company``...), ``--map``
   overriding; unknown columns are listed and ignored.
2. Every row is checked by the services' own rules (phone to E.164, e-mail, dates, INN check digits);
   a bad row is kept with its line, column and reason.
3. Each good row gets a verdict: ``created``, ``updated`` (``--update`` and a record matched),
   ``unchanged``, or ``duplicate`` (a record matched, no ``--update``; or the same row earlier in the
   file). A bad row is ``rejected``.
4. All or nothing by default: one rejected row and nothing is written (the transaction is rolled back).
   With ``skip_errors`` the good rows are written and the bad ones go to a rejects file.
5. What was created or updated is recorded in ``import_item`` (an update with the values it replaced),
   so :func:`revert` takes the batch back out, refusing records changed since.

Kinds are registered in :data:`KINDS` (see :class:`ImportKind`): contacts, companies and leads are
here; another kind (a catalogue's products) registers itself the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from crm_tui.data.db import database, is_postgres
from crm_tui.data.import_models import ImportBatch, ImportItem
from crm_tui.data.models import User
from crm_tui.services import import_files
from crm_tui.services.errors import CrmError, InvalidInput, NotFound, RuleViolation

CHUNK = 5000
KEEP_VERDICTS = 2000
"""Per-row verdicts kept for the answer; counts cover every row (a 1M-row file is not listed whole)."""

SEEN_LIMIT = 300_000
"""A file's own repeats are told by line while this many phones and e-mails are remembered; past that,
the rows already written are found in the desk like any other record (a 1M-row file keeps memory flat)."""

VERDICTS = ("created", "updated", "unchanged", "duplicate", "rejected")


# --- rows and problems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why a row was refused: the field, its code (``phone.invalid``) and the message."""

    field: str
    code: str
    message: str


class RowInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class Row:
    line: int
    record: dict[str, str]
    values: dict[str, str]
    clean: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    verdict: str = ""
    record_id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class RowVerdict:
    line: int
    verdict: str
    id: int | None
    note: str


@dataclass(frozen=True)
class ImportOptions:
    file_format: str | None = None
    mapping: str | None = None
    dry_run: bool = False
    update: bool = False
    skip_errors: bool = False
    owner_id: int | None = None
    call_tasks: bool = False
    sheet: str | None = None


@dataclass
class ImportResult:
    kind: str
    file: str
    file_format: str
    encoding: str
    delimiter: str
    columns: dict[str, list[str]]
    unknown_columns: list[str]
    batch_id: int | None = None
    dry_run: bool = False
    refused: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    rows: list[RowVerdict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rejects_file: str | None = None
    total: int = 0


# --- column mapping -------------------------------------------------------------------------------------


def header_key(header: str) -> str:
    """``"Моб. телефон"`` -> ``"моб телефон"``, ``"E-mail"`` -> ``"e mail"``: case, ``ё``, punctuation
    and underscores do not matter when a header is recognised."""
    return " ".join(re.sub(r"[\W_]+", " ", header.casefold().replace("ё", "е")).split())


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, list[str]]
    """Field -> the headers mapped to it (several for phones, e-mails, tags)."""
    unknown: list[str]


def build_mapping(kind: ImportKind, headers: list[str], overrides: str | None) -> Mapping:
    """Each header's field, by the kind's synonyms and patterns; ``overrides`` (``"ФИО=name,Тел=phone"``,
    ``"Колонка=-"`` to ignore one) win. A field other than the multi ones takes its first column."""
    explicit: dict[str, str] = {}
    for part in _split_map(overrides or ""):
        header, sep, target = part.partition("=")
        target = target.strip().lower()
        if not sep or not header.strip():
            raise InvalidInput(
                f"--map takes COLUMN=field pairs separated by commas, not {part!r}",
                {"map": "COLUMN=field"},
                code="import.map_syntax",
                params={"value": part},
            )
        if target not in kind.fields and target not in ("-", "skip", ""):
            raise InvalidInput(
                f"No field {target!r} for {kind.name}; the fields: {', '.join(kind.fields)}",
                {"map": "unknown field"},
                code="import.map_field",
                params={"field": target, "fields": list(kind.fields)},
            )
        explicit[header_key(header)] = "-" if target in ("skip", "") else target
    known = {header_key(h) for h in headers}
    missing = [h for h in explicit if h not in known]
    if missing:
        raise InvalidInput(
            f"--map names columns the file does not have: {', '.join(missing)}; its columns: "
            + ", ".join(headers),
            {"map": "no such column"},
            code="import.map_column",
            params={"columns": missing, "headers": headers},
        )
    columns: dict[str, list[str]] = {}
    unknown: list[str] = []
    for header in headers:
        key = header_key(header)
        target = explicit.get(key) or kind.field_for(key)
        if target is None or target == "-":
            unknown.append(header)
            continue
        taken = columns.setdefault(target, [])
        if taken and target not in kind.multi:
            unknown.append(header)
            continue
        taken.append(header)
    return Mapping(columns, unknown)


def _split_map(text: str) -> list[str]:
    return [p.strip() for p in re.split(r",(?=[^,=]*=)", text) if p.strip()]


# --- kinds ----------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a kind needs while importing one file."""

    by: int | None
    now: datetime
    options: ImportOptions
    batch_id: int | None
    seen: dict[str, int] = field(default_factory=dict)
    """A key (``phone:+7...``) -> the line of the file's first row with it."""
    cache: dict[str, Any] = field(default_factory=dict)
    items: list[tuple[str, int, str, str | None, str]] = field(default_factory=list)
    """Import items to write: (table, id, action, before JSON, after digest)."""

    @property
    def writing(self) -> bool:
        return self.batch_id is not None

    def owner_for(self, login: str) -> int | None:
        """The row's owner column (a login, any case), else ``--owner``, else who imports."""
        text = login.strip()
        if not text:
            return self.options.owner_id if self.options.owner_id is not None else self.by
        owners: dict[str, int] = self.cache.setdefault("owners", {})
        if not owners:
            for user_id, user_login in User.select(User.id, User.login).tuples():
                owners[user_login.casefold()] = int(user_id)
        found = owners.get(text.casefold())
        if found is None:
            raise RowInvalid([Problem("owner", "user.not_found", f"No user with the login {text!r}")])
        return found


class ImportKind:
    """One kind of record a file can bring. Subclasses set the fields and implement the three steps.

    - ``fields``: field -> header synonyms (as :func:`header_key` gives them); ``patterns``: regular
      expressions over header keys for numbered columns (``phone 2 value``); ``multi``: fields that take
      several columns (their values are joined with ``"; "``).
    - :meth:`check` validates one row's values (field -> text) with the services' rules, raising
      :class:`RowInvalid`; :meth:`plan` gives a chunk of valid rows their verdicts; :meth:`write` writes
      them (bulk) and adds import items; :meth:`revert` takes a batch's items back.
    """

    name: ClassVar[str]
    table: ClassVar[str]
    fields: ClassVar[dict[str, tuple[str, ...]]]
    patterns: ClassVar[tuple[tuple[str, str], ...]] = ()
    multi: ClassVar[frozenset[str]] = frozenset()
    required: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """Each tuple: at least one of these fields must be mapped (``("name", "first_name", "last_name")``)."""

    def field_for(self, key: str) -> str | None:
        for name, synonyms in self.fields.items():
            if key == name or key in synonyms:
                return name
        for pattern, name in self.patterns:
            if re.fullmatch(pattern, key):
                return name
        return None

    def check_columns(self, mapping: Mapping, headers: list[str]) -> None:
        for group in self.required:
            if not any(f in mapping.columns for f in group):
                raise InvalidInput(
                    f"No column for {' or '.join(group)} among {', '.join(headers) or 'no columns'}: "
                    f'name it with --map "COLUMN={group[0]}"',
                    {"map": f"no {group[0]} column"},
                    code="import.columns",
                    params={"fields": list(group), "headers": headers},
                )

    def check(self, values: dict[str, str], ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def plan(self, rows: list[Row], ctx: Context) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row], ctx: Context) -> None:
        raise NotImplementedError

    def changed_since(self, items: list[ImportItem]) -> list[str]:
        """Labels (``contact #12 Анна``) of the items' records changed since the import."""
        raise NotImplementedError

    def revert(self, items: list[ImportItem]) -> None:
        raise NotImplementedError


KINDS: dict[str, ImportKind] = {}


def register_kind(kind: ImportKind) -> ImportKind:
    """Make ``crm import <kind.name>`` (and the app's import screen) able to bring this kind."""
    KINDS[kind.name] = kind
    return kind


def kind_named(name: str) -> ImportKind:
    _load_kinds()
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInput(
            f"Cannot import {name!r}: {', '.join(KINDS)}",
            {"kind": "unknown"},
            code="import.kind",
            params={"kind": name, "kinds": list(KINDS)},
        ) from None


def _load_kinds() -> None:
    from crm_tui.services import import_kinds  # noqa: F401 - registers contacts, companies, leads


def digest(state: object) -> str:
    """A short fingerprint of a record's state, to tell later whether it changed."""
    text = (
        "\x1f".join(f"{key}={state[key]!r}" for key in sorted(state))
        if isinstance(state, dict)
        else repr(state)
    )
    return hashlib.sha1(text.encode()).hexdigest()[:20]  # noqa: S324 - a fingerprint, not a secret


# --- running an import ----------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


Progress = Callable[[int], None]


def run(
    kind_name: str,
    path: Path,
    options: ImportOptions,
    *,
    by: int | None,
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
    """Import ``path`` as ``kind_name`` (see the module's doc). Nothing is written for a dry run, nor
    when a row is bad and ``skip_errors`` is off (``result.refused``)."""
    kind = kind_named(kind_name)
    if options.owner_id is not None and not User.select().where(User.id == options.owner_id).exists():
        raise NotFound(f"No user #{options.owner_id}", code="user.not_found", params={"id": options.owner_id})
    source = import_files.open_source(path, options.file_format, sheet=options.sheet)
    mapping = build_mapping(kind, source.headers, options.mapping)
    kind.check_columns(mapping, source.headers)
    result = ImportResult(
        kind=kind.name,
        file=str(path),
        file_format=source.file_format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        columns=mapping.columns,
        unknown_columns=mapping.unknown,
        dry_run=options.dry_run,
    )
    rejects = import_files.RejectsWriter(source) if options.skip_errors and not options.dry_run else None
    try:
        with database.atomic():
            batch = None if options.dry_run else _new_batch(kind, source, options, by=by, now=now)
            ctx = Context(by=by, now=now, options=options, batch_id=batch.id if batch else None)
            for chunk in _chunks(source.records, mapping, kind, ctx, result, rejects):
                if len(ctx.seen) > SEEN_LIMIT:
                    ctx.seen.clear()  # memory stays flat: rows written since are found in the desk itself
                valid = [r for r in chunk if not r.problems]
                kind.plan(valid, ctx)
                stop_writing = result.counts["rejected"] and not options.skip_errors
                if ctx.writing and not stop_writing:
                    kind.write([r for r in valid if r.verdict in ("created", "updated")], ctx)
                    _write_items(ctx)
                for row in chunk:
                    _tally(result, row)
                if progress is not None:
                    progress(result.total)
            if batch is not None:
                _finish_batch(batch, result)
            if result.counts["rejected"] and not options.skip_errors and not options.dry_run:
                result.refused = True
                raise _Rollback
            if options.dry_run:
                raise _Rollback
    except _Rollback:
        result.batch_id = None
    else:
        result.batch_id = batch.id if batch is not None else None
    finally:
        source.records.close()  # type: ignore[attr-defined]
    if rejects is not None and not result.refused:
        written = rejects.close()
        result.rejects_file = str(written) if written else None
    return result


def _chunks(
    records: Iterator[tuple[int, dict[str, str]]],
    mapping: Mapping,
    kind: ImportKind,
    ctx: Context,
    result: ImportResult,
    rejects: import_files.RejectsWriter | None,
) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    columns = list(mapping.columns.items())
    single = [(f, hs[0]) for f, hs in columns if len(hs) == 1]
    several = [(f, hs) for f, hs in columns if len(hs) > 1]
    for line, record in records:
        values = {f: record.get(h, "").strip() for f, h in single}
        for f, hs in several:
            values[f] = "; ".join(v for h in hs if (v := record.get(h, "").strip()))
        row = Row(line, record, values)
        try:
            row.clean = kind.check(values, ctx)
        except RowInvalid as error:
            row.problems = error.problems
            row.verdict = "rejected"
            for problem in error.problems:
                column = ", ".join(mapping.columns.get(problem.field, [])) or problem.field
                result.errors.append(RowError(line, column, problem.field, problem.code, problem.message))
            if rejects is not None:
                rejects.add(record, "; ".join(p.message for p in error.problems))
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tally(result: ImportResult, row: Row) -> None:
    result.total += 1
    result.counts[row.verdict] = result.counts.get(row.verdict, 0) + 1
    if len(result.rows) < KEEP_VERDICTS:
        note = row.note or "; ".join(p.message for p in row.problems)
        result.rows.append(RowVerdict(row.line, row.verdict, row.record_id, note))


def _new_batch(
    kind: ImportKind, source: import_files.Source, options: ImportOptions, *, by: int | None, now: datetime
) -> ImportBatch:
    settings = {
        "update": options.update,
        "skip_errors": options.skip_errors,
        "owner_id": options.owner_id,
        "map": options.mapping or "",
        "call_tasks": options.call_tasks,
        "encoding": source.encoding,
    }
    return ImportBatch.create(
        kind=kind.name,
        source=str(source.path.resolve())[:2000],
        file_format=source.file_format,
        options=json.dumps(settings, ensure_ascii=False),
        by=by,
        created_at=now,
    )


def _finish_batch(batch: ImportBatch, result: ImportResult) -> None:
    c = result.counts
    ImportBatch.update(
        rows=result.total,
        created=c["created"],
        updated=c["updated"],
        unchanged=c["unchanged"],
        rejected=c["rejected"],
        duplicates=c["duplicate"],
    ).where(ImportBatch.id == batch.id).execute()


def _write_items(ctx: Context) -> None:
    if not ctx.items:
        return
    p = "?" if not is_postgres() else "%s"
    sql = (
        "INSERT INTO import_item (batch_id, table_name, record_id, action, before, after) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
    )
    database.cursor().executemany(sql, [(ctx.batch_id, *item) for item in ctx.items])
    ctx.items.clear()


# --- batches --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    id: int
    kind: str
    source: str
    file_format: str
    created_at: datetime
    by: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    duplicates: int
    reverted_at: datetime | None


def batches(limit: int = 50) -> list[BatchRow]:
    """The imports, newest first."""
    query = ImportBatch.select().order_by(ImportBatch.id.desc()).limit(limit)
    logins = dict(User.select(User.id, User.login).tuples())
    return [
        BatchRow(
            id=b.id,
            kind=b.kind,
            source=b.source,
            file_format=b.file_format,
            created_at=b.created_at,
            by=logins.get(b.by_id, ""),
            rows=b.rows,
            created=b.created,
            updated=b.updated,
            unchanged=b.unchanged,
            rejected=b.rejected,
            duplicates=b.duplicates,
            reverted_at=b.reverted_at,
        )
        for b in query
    ]


@dataclass(frozen=True)
class RevertResult:
    batch_id: int
    kind: str
    removed: dict[str, int]
    restored: dict[str, int]


def revert(batch_id: int, *, by: int | None, now: datetime) -> RevertResult:
    """Take a batch back: remove what it created and restore what it updated. Refused, naming them, when
    a record was changed since (edited, or given deals, calls or tasks); all or nothing."""
    with database.atomic():
        query = ImportBatch.select().where(ImportBatch.id == batch_id)
        if is_postgres():
            query = query.for_update()
        batch = query.first()
        if batch is None:
            raise NotFound(f"No import #{batch_id}", code="import.not_found", params={"id": batch_id})
        if batch.reverted_at is not None:
            raise RuleViolation(
                f"Import #{batch_id} was already reverted on {batch.reverted_at:%Y-%m-%d %H:%M}",
                code="import.reverted",
                params={"id": batch_id, "at": batch.reverted_at.isoformat()},
            )
        kind = kind_named(batch.kind)
        later = (
            ImportItem.select(ImportItem.record_id, ImportItem.table_name)
            .join(ImportBatch)
            .where(ImportBatch.id > batch_id, ImportBatch.reverted_at.is_null())
        )
        mine = list(ImportItem.select().where(ImportItem.batch == batch_id).order_by(ImportItem.id))
        touched = {(t, r) for r, t in later.tuples()}
        changed = [
            f"{i.table_name} #{i.record_id} (import #{_later(i)})"
            for i in mine
            if (i.table_name, i.record_id) in touched
        ]
        changed += kind.changed_since(mine)
        if changed:
            shown = ", ".join(changed[:20]) + (f" and {len(changed) - 20} more" if len(changed) > 20 else "")
            raise RuleViolation(
                f"Import #{batch_id} cannot be reverted: changed since: {shown}",
                code="import.changed_since",
                params={"id": batch_id, "records": changed},
            )
        kind.revert(mine)
        removed: dict[str, int] = {}
        restored: dict[str, int] = {}
        for item in mine:
            target = removed if item.action == "created" else restored
            target[item.table_name] = target.get(item.table_name, 0) + 1
        ImportBatch.update(reverted_at=now).where(ImportBatch.id == batch_id).execute()
    return RevertResult(batch_id, batch.kind, removed, restored)


def _later(item: ImportItem) -> int:
    found = (
        ImportItem.select(ImportItem.batch)
        .where(
            ImportItem.table_name == item.table_name,
            ImportItem.record_id == item.record_id,
            ImportItem.batch > item.batch_id,
        )
        .order_by(ImportItem.batch.desc())
        .scalar()
    )
    return int(found or 0)


__all__ = [
    "KINDS",
    "CrmError",
    "ImportKind",
    "ImportOptions",
    "ImportResult",
    "Mapping",
    "batches",
    "build_mapping",
    "register_kind",
    "revert",
    "run",
]
