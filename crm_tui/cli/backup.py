"""``crm backup [FILE]`` and ``crm restore FILE``: a checked copy of the desk, and the desk back from one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, _root_option, emit, fail

if TYPE_CHECKING:
    from crm_tui.services.backup import BackupResult, RestoreResult


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _render_backup(result: BackupResult) -> list[str]:
    rows = sum(result.counts.values())
    how = f"pg_dump -Fc ({result.tool})" if result.backend == "postgresql" else "checked: integrity ok"
    lines = [
        f"backup: {result.path}",
        f"{_size(result.size)}, {len(result.counts)} tables, {rows} rows; {how}",
    ]
    main = ("lead", "contact", "company", "deal", "task", "interaction")
    lines.append(", ".join(f"{t} {result.counts[t]}" for t in main if t in result.counts))
    return lines


def backup(
    file: Annotated[
        str | None,
        typer.Argument(help="File or folder to write (default: backups/ beside the desk).", metavar="[FILE]"),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A consistent copy of the desk while it is in use, checked before it is kept."""
    from crm_tui.data.db import open_database, resolve_url
    from crm_tui.services import backup as service
    from crm_tui.services import clock
    from crm_tui.services.errors import CrmError

    url = resolve_url(db or _root_option("db"))
    if url.startswith("sqlite") and not Path("/" + url.split("://", 1)[1].lstrip("/")).exists():
        raise fail(f"no desk at {url.split('://', 1)[1]}: nothing to back up")
    try:
        database = open_database(url)
    except Exception as error:  # noqa: BLE001 - a bad path or URL is the user's input
        raise fail(f"cannot open the database: {error}") from error
    try:
        with database.connection_context():
            result = service.backup(database, url, file, now=clock.utcnow())
    except CrmError as error:
        raise fail(error.message) from error
    finally:
        if not database.is_closed():
            database.close()
    emit(result, as_json, _render_backup)


def _render_restore(result: RestoreResult) -> list[str]:
    lines = [f"restored {result.path} from {result.source}"]
    if result.schema_version:
        lines[0] += f" (schema version {result.schema_version})"
    if result.kept_aside:
        lines.append(f"the former desk is kept as {result.kept_aside}")
    if result.counts:
        main = ("lead", "contact", "company", "deal", "task", "interaction")
        lines.append(", ".join(f"{t} {result.counts[t]}" for t in main if t in result.counts))
    return lines


def restore(
    file: Annotated[str, typer.Argument(help="The backup to restore (crm backup's file).", metavar="FILE")],
    yes: Annotated[
        bool, typer.Option("--yes", help="PostgreSQL: replace the database's contents without asking.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Swap the desk for a checked backup; the current file is kept aside (PostgreSQL: pg_restore)."""
    from crm_tui.data.db import resolve_url
    from crm_tui.services import backup as service
    from crm_tui.services import clock
    from crm_tui.services.errors import CrmError

    url = resolve_url(db or _root_option("db"))
    try:
        if url.startswith("sqlite"):
            desk = Path(url.split("://", 1)[1].lstrip("/"))
            result = service.restore_sqlite(Path("/" + str(desk)), Path(file), now=clock.utcnow())
            _upgrade(url)
        else:
            if not yes:
                from crm_tui.cli.desk import _safe_url

                raise fail(
                    f"this replaces every row of {_safe_url(url)} with the backup's; "
                    "run again with --yes to go ahead"
                )
            result = service.restore_postgres(url, Path(file))
            _upgrade(url)
    except CrmError as error:
        raise fail(error.message) from error
    emit(result, as_json, _render_restore)


def _upgrade(url: str) -> None:
    """An older backup is brought up to this crm's schema at once, as any desk opened."""
    from crm_tui.data.db import open_database

    database = open_database(url)
    if not database.is_closed():
        database.close()


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
