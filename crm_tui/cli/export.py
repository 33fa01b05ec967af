"""``crm export KIND``: contacts, companies, leads, deals, tasks, interactions or all, as a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, session

KIND_HELP = "contacts, companies, leads, deals, tasks, interactions, or all."


def export(
    kind: Annotated[str, typer.Argument(help=KIND_HELP, metavar="KIND")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="csv, xlsx, json, vcf (contacts), ics (tasks).")
    ] = "csv",
    excel: Annotated[
        bool, typer.Option("--excel", help="CSV for Russian Excel: ';', BOM, roubles, dd.mm.yyyy.")
    ] = False,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Leads: a status or open; deals: open, won, lost; tasks: open, done."),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Leads: only this utm_source.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this login's records (tasks: assignee).")
    ] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Deals: stage number or name.")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Archived records too.")] = False,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File to write ('-': standard output).")
    ] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write records as a file: CSV, Excel CSV, XLSX, JSON, vCard or iCalendar (streamed: any size)."""
    from crm_tui.services import export as service
    from crm_tui.services import pipelines, users
    from crm_tui.services.errors import CrmError

    fmt = fmt.lower()
    try:
        service.check(kind, fmt, excel)
    except CrmError as error:
        raise fail(error.message) from error
    if output == "-" and fmt == "xlsx":
        raise fail("xlsx is a binary file: give -o FILE")
    with session(db, user) as s:
        flt = service.Filters(
            status=status,
            source=source,
            owner_id=users.by_login(owner).id if owner else None,
            stage_id=pipelines.resolve_stage(pipelines.default_pipeline_id(), stage).id if stage else None,
            include_archived=archived,
        )
        if output == "-":
            stream: Any = sys.stdout
            count = service.export(kind, fmt, stream, flt, excel=excel, now=s.now)
            stream.flush()
            return
        target = (
            Path(output).expanduser()
            if output
            else Path.cwd() / service.default_name(kind, fmt, excel, s.now)
        )
        tmp = target.with_name(f".{target.name}.part")
        try:
            if fmt == "xlsx":
                with open(tmp, "wb") as binary:
                    count = service.export(kind, fmt, binary, flt, excel=excel, now=s.now)
            else:
                with open(tmp, "w", encoding="utf-8", newline="") as text:
                    count = service.export(kind, fmt, text, flt, excel=excel, now=s.now)
            tmp.replace(target)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise fail(f"cannot write {target}: {error.strerror}") from error
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    result = {
        "kind": kind,
        "format": "excel-csv" if excel else fmt,
        "path": str(target.resolve()),
        "rows": count,
    }
    emit(result, as_json, lambda r: [f"{r['rows']} {kind if kind != 'all' else 'rows'} -> {r['path']}"])


def import_(
    file: Annotated[str, typer.Argument(help="A dump made by crm export all --format json.", metavar="FILE")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a desk dump into a new, empty desk (SQLite or PostgreSQL), ids kept."""
    from crm_tui.data.db import database
    from crm_tui.services import desk_import

    with session(db, None):
        dump = desk_import.read_dump(Path(file).expanduser())
        result = desk_import.load(database.obj, dump, source=str(Path(file).expanduser().resolve()))

    def render(r: Any) -> list[str]:
        main = ("lead", "contact", "company", "deal", "task", "interaction")
        return [
            f"imported {r.source} (schema version {r.schema_version}): {sum(r.counts.values())} rows",
            ", ".join(f"{t} {r.counts[t]}" for t in main if t in r.counts),
        ]

    emit(result, as_json, render)


import_app = typer.Typer(no_args_is_help=True, help="Bring data in: a whole desk's dump.")
import_app.command("dump")(import_)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.add_typer(import_app, name="import")
