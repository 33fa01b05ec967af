"""``crm import contacts|companies|leads FILE``, ``crm import list``, ``crm import revert BATCH``: records
from the files people have (CSV from Excel, XLSX, a phone's vCard, JSON), beside ``crm import dump``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, session, table
from crm_tui.cli.export import import_app
from crm_tui.cli.lead import local

if TYPE_CHECKING:
    from crm_tui.services.imports import BatchRow, ImportResult, RevertResult

FileArg = Annotated[str, typer.Argument(help="The file: .csv, .xlsx, .vcf or .json.", metavar="FILE")]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="csv, xlsx, vcf or json (default: from the file's extension).")
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help='Columns to fields, over the automatic mapping: "ФИО=name,Моб. телефон=phone,Должность=-".',
    ),
]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Say what each row would do; write nothing.")]
UpdateOpt = Annotated[
    bool,
    typer.Option(
        "--update", help="Update a matching record (by phone or e-mail; INN or name) instead of skipping it."
    ),
]
SkipOpt = Annotated[
    bool,
    typer.Option(
        "--skip-errors", help="Import the good rows; write the bad ones to FILE.rejected.* beside it."
    ),
]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Login of the owner of what is imported (default: you).")
]
CallOpt = Annotated[bool, typer.Option("--call-tasks", help="Leads: plan the first-call task for each one.")]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="XLSX: the sheet to read (default: the first).")
]

ERRORS_SHOWN = 50


def _run(
    kind: str,
    file: str,
    file_format: str | None,
    mapping: str | None,
    dry_run: bool,
    update: bool,
    skip_errors: bool,
    owner: str | None,
    call_tasks: bool,
    sheet: str | None,
    db: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    from crm_tui.services import imports, users

    path = Path(file).expanduser()
    progress = _Progress()
    with session(db, user) as s:
        options = imports.ImportOptions(
            file_format=file_format,
            mapping=mapping,
            dry_run=dry_run,
            update=update,
            skip_errors=skip_errors,
            owner_id=users.by_login(owner).id if owner else None,
            call_tasks=call_tasks,
            sheet=sheet,
        )
        result = imports.run(kind, path, options, by=s.user_id, now=s.now, progress=progress)
    progress.done()
    if result.refused:
        if as_json:
            emit(result, True)
        else:
            for line in _refusal(result):
                typer.echo(line, err=True)
        raise typer.Exit(1)
    emit(result, as_json, _render)


class _Progress:
    """``read 250000 rows`` on stderr as a big file goes in (nothing for a small one)."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, rows: int) -> None:
        from crm_tui.services.imports import CHUNK

        if rows <= CHUNK and not self.shown:
            return
        self.shown = True
        sys.stderr.write(f"\rread {rows} rows")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _head(r: ImportResult) -> list[str]:
    read = f"{Path(r.file).name} ({r.file_format}"
    if r.file_format in ("csv", "vcf"):
        read += f", {r.encoding}"
    if r.file_format == "csv":
        read += ", " + {"\t": "tab", ",": "','", ";": "';'"}.get(r.delimiter, repr(r.delimiter))
    read += ")"
    mapped = ", ".join(f"{h} -> {f}" for f, hs in r.columns.items() for h in hs)
    lines = [f"{r.kind} from {read}", f"columns: {mapped}"]
    if r.unknown_columns:
        lines.append(f'ignored columns: {", ".join(r.unknown_columns)} (--map "COLUMN=field" takes one)')
    return lines


def _counts(r: ImportResult) -> str:
    c = r.counts
    return (
        f"{r.total} rows: created {c['created']}, updated {c['updated']}, unchanged {c['unchanged']}, "
        f"duplicate {c['duplicate']}, rejected {c['rejected']}"
    )


def _error_lines(r: ImportResult) -> list[str]:
    lines = [f"  line {e.line}, column {e.column}: {e.message}" for e in r.errors[:ERRORS_SHOWN]]
    if len(r.errors) > ERRORS_SHOWN:
        lines.append(f"  ... and {len(r.errors) - ERRORS_SHOWN} more (--json lists them all)")
    return lines


def _refusal(r: ImportResult) -> list[str]:
    bad = r.counts["rejected"]
    return [
        f"error: {bad} bad row{'s' if bad != 1 else ''} in {Path(r.file).name}: nothing imported "
        "(fix them, or --skip-errors to import the good rows)",
        *_error_lines(r),
    ]


def _render(r: ImportResult) -> list[str]:
    lines = _head(r)
    if r.dry_run:
        lines.append("dry run: nothing written")
        if r.counts["rejected"]:
            lines.append(
                f"{r.counts['rejected']} bad rows: the import would be refused (unless --skip-errors)"
            )
        lines += [
            f"  line {v.line}  {v.verdict}"
            + (f"  #{v.id}" if v.id else "")
            + (f"  {v.note}" if v.note else "")
            for v in r.rows
        ]
        if r.total > len(r.rows):
            lines.append(f"  ... {r.total - len(r.rows)} more rows")
    else:
        lines.append(f"import #{r.batch_id} (crm import revert {r.batch_id} takes it back)")
        lines += [
            f"  line {v.line}  {v.verdict}" + (f"  #{v.id}" if v.id else "") + f"  {v.note}"
            for v in r.rows
            if v.verdict == "duplicate"
        ][:ERRORS_SHOWN]
    lines.append(_counts(r))
    if r.errors and not r.dry_run:
        lines.append("rejected:")
        lines += _error_lines(r)
    elif r.errors:
        lines += _error_lines(r)
    if r.rejects_file:
        lines.append(f"rejected rows written to {r.rejects_file} (fix them there and import that file)")
    return lines


def make_command(kind: str) -> Any:
    def command(
        file: FileArg,
        file_format: FormatOpt = None,
        mapping: MapOpt = None,
        dry_run: DryOpt = False,
        update: UpdateOpt = False,
        skip_errors: SkipOpt = False,
        owner: OwnerOpt = None,
        call_tasks: CallOpt = False,
        sheet: SheetOpt = None,
        db: DbOpt = None,
        user: UserOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        _run(
            kind,
            file,
            file_format,
            mapping,
            dry_run,
            update,
            skip_errors,
            owner,
            call_tasks,
            sheet,
            db,
            user,
            as_json,
        )

    command.__doc__ = (
        f"Import {kind} from a CSV (UTF-8 or Windows-1251; , ; or tab), XLSX, vCard or JSON file: all or "
        "nothing unless --skip-errors; every import is a batch (crm import list, crm import revert)."
    )
    return command


def list_batches(
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The imports, newest first: what each brought and whether it was reverted."""
    from crm_tui.services import imports

    with session(db, None):
        rows = imports.batches(limit)

    def render(items: list[BatchRow]) -> list[str]:
        if not items:
            return ["no imports yet"]
        return table(
            [
                [
                    f"#{b.id}",
                    local(b.created_at),
                    b.by,
                    b.kind,
                    Path(b.source).name,
                    str(b.rows),
                    str(b.created),
                    str(b.updated),
                    str(b.duplicates),
                    str(b.rejected),
                    f"reverted {local(b.reverted_at)}" if b.reverted_at else "",
                ]
                for b in items
            ],
            ["batch", "at", "by", "kind", "file", "rows", "created", "updated", "dup", "rejected", ""],
        )

    emit(rows, as_json, render)


def revert_batch(
    batch: Annotated[int, id_argument("The import's number (crm import list): 7 or #7.")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take an import back: remove what it created, restore what it updated (refused, naming them, for records
    changed since)."""
    from crm_tui.services import imports

    batch_id = batch
    with session(db, user) as s:
        result = imports.revert(batch_id, by=s.user_id, now=s.now)

    def render(r: RevertResult) -> list[str]:
        parts = [f"removed {_many(n, t)}" for t, n in r.removed.items()]
        parts += [f"restored {_many(n, t)}" for t, n in r.restored.items()]
        return [f"import #{r.batch_id} reverted: {', '.join(parts) or 'nothing to undo'}"]

    emit(result, as_json, render)


KINDS = ("contacts", "companies", "leads", "deals")
"""The kinds ``crm import`` brings from files (``services.imports.KINDS`` holds their rules); a kind
registered there gets its command by ``import_app.command(name)(make_command(name))``."""


def _many(n: int, table_name: str) -> str:
    plural = {"company": "companies"}.get(table_name, table_name + "s")
    return f"{n} {table_name if n == 1 else plural}"


def register() -> None:
    """Add the commands to ``crm import`` (beside ``dump``)."""
    for kind in KINDS:
        import_app.command(kind)(make_command(kind))
    import_app.command("list")(list_batches)
    import_app.command("revert")(revert_batch)
    import_app.info.help = "Bring data in: contacts, companies, leads, deals from files; a whole desk's dump."
