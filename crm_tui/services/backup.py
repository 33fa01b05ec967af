"""Backups of the desk and restoring one after a disaster.

SQLite: a backup is taken with SQLite's online backup API while the app, the CLI and the intake server
keep writing. One read transaction counts the rows of every table and copies the pages, so the copy holds
exactly what that transaction saw: every commit acknowledged before it began, none half-written. The copy
is written under a temporary name, checked (``PRAGMA integrity_check`` and the same row counts) and only
then renamed to ``crm-YYYY-MM-DDTHHMM.db`` (UTC), so a file with that name is always a good backup.

``restore()`` swaps the desk for a checked backup and keeps the current file aside
(``crm.db.before-restore-<time>``); it refuses while another process has the desk open (found through
``/proc/*/fd`` on Linux), a file that fails the check or is not a crm desk, and a schema newer than this
crm knows.

PostgreSQL: ``pg_dump -Fc`` from one exported snapshot (the same rows as the counts) and ``pg_restore``.

``auto_backup()`` takes one backup a day (when the newest one is older than a day) and keeps the last
``backups.keep`` (desk setting) of the automatic ones' folder.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from peewee import Database

from crm_tui.data.db import is_postgres, is_sqlite
from crm_tui.services.errors import CrmError, InvalidInput, NotFound, RuleViolation

BACKUP_DIR = "backups"
NAME_RE = re.compile(r"^crm-\d{4}-\d{2}-\d{2}T\d{4}(\d{2})?(-\d+)?\.(db|dump)$")
AUTO_EVERY = timedelta(days=1)
DEFAULT_KEEP = 14
# Tables a crm desk always has; a file without them is not a desk.
DESK_TABLES = ("schema_version", "user", "lead", "deal", "stage", "contact", "task")


class BackupError(CrmError):
    title = "Backup"
    code = "backup.failed"


@dataclass(frozen=True)
class BackupResult:
    path: str
    size: int
    counts: dict[str, int]
    backend: str  # "sqlite" | "postgresql"
    taken_at: datetime
    tool: str = ""  # pg_dump's path on PostgreSQL


@dataclass(frozen=True)
class Holder:
    """A process that has the desk's file open."""

    pid: int
    command: str


@dataclass(frozen=True)
class RestoreResult:
    path: str  # the desk
    source: str  # the backup restored
    kept_aside: str  # where the desk's former file is ("" when there was none, or on PostgreSQL)
    schema_version: int
    counts: dict[str, int] = field(default_factory=dict)


def parse_keep(text: str) -> int:
    """``backups.keep``: how many backups to keep, a whole number from 1 to 3650."""
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= 3650:
        raise InvalidInput(
            f"Not a number of backups to keep: {text!r} (a whole number from 1 to 3650)",
            {"value": "not a count"},
            code="backups.keep.invalid",
            params={"value": text},
        )
    return int(value)


# ------------------------------------------------------------------------------------------- names
def sqlite_file(db: Database) -> Path:
    """The desk's file of an SQLite database."""
    name = str(getattr(db, "database", "") or "")
    if not name or name == ":memory:":
        raise BackupError("An in-memory database has no file to back up", code="backup.memory")
    return Path(name).resolve()


def default_dir(desk_file: Path) -> Path:
    """``backups/`` beside the desk's file."""
    return desk_file.parent / BACKUP_DIR


def postgres_default_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("crm-tui", appauthor=False) / BACKUP_DIR


def stamped_name(now: datetime, suffix: str) -> str:
    return f"crm-{now:%Y-%m-%dT%H%M}{suffix}"


def _free_target(folder: Path, now: datetime, suffix: str) -> Path:
    """``crm-<time>.db``, or ``crm-<time>-2.db`` ... when a backup of the same minute is there."""
    target = folder / stamped_name(now, suffix)
    n = 2
    while target.exists():
        target = folder / stamped_name(now, f"-{n}{suffix}")
        n += 1
    return target


def _resolve_target(target: str | Path | None, default_folder: Path, now: datetime, suffix: str) -> Path:
    if target is None:
        default_folder.mkdir(parents=True, exist_ok=True)
        return _free_target(default_folder, now, suffix)
    path = Path(target).expanduser()
    if path.is_dir():
        return _free_target(path.resolve(), now, suffix)
    if path.exists():
        raise InvalidInput(
            f"{path} exists already; give a new file name or a folder",
            {"file": "exists"},
            code="backup.exists",
            params={"path": str(path)},
        )
    if not path.parent.is_dir():
        raise InvalidInput(
            f"No folder {path.parent} to write the backup in",
            {"file": "no folder"},
            code="backup.no_folder",
            params={"path": str(path.parent)},
        )
    return path.resolve()


def backups_in(folder: Path) -> list[Path]:
    """The backups this crm named in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and NAME_RE.match(p.name)]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


# ------------------------------------------------------------------------------------------ SQLite
def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [str(name) for (name,) in rows]


def _counts(conn: sqlite3.Connection, tables: Iterable[str]) -> dict[str, int]:
    return {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}


def _integrity(conn: sqlite3.Connection) -> str:
    rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return "ok" if rows == ["ok"] else "; ".join(rows[:3])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_sqlite(source: Path, target: Path) -> dict[str, int]:
    """Copy ``source`` into ``target`` (which must not exist) through a temporary name: one read
    transaction counts every table and copies the pages; the copy is checked, made a single file
    (rollback journal), synced, then renamed. Returns the counts."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(source, isolation_level=None, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.execute("BEGIN")
        tables = _tables(src)  # the first read starts the snapshot: counts and pages are one moment
        counts = _counts(src, tables)
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst)
        finally:
            dst.close()
        src.execute("COMMIT")
    except sqlite3.Error as error:
        tmp.unlink(missing_ok=True)
        raise BackupError(
            f"Cannot read {source}: {error}", code="backup.read", params={"path": str(source)}
        ) from error
    finally:
        src.close()
    try:
        problem = _check_copy(tmp, counts)
        if problem:
            raise BackupError(
                f"The copy failed its check, nothing was kept: {problem}",
                code="backup.check",
                params={"problem": problem},
            )
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return counts


def _check_copy(path: Path, counts: dict[str, int]) -> str:
    """What is wrong with the copy at ``path`` ("" when nothing): integrity and the same row counts."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        integrity = _integrity(conn)
        if integrity != "ok":
            return f"integrity check: {integrity}"
        copied = _counts(conn, _tables(conn))
    finally:
        conn.close()
    if copied != counts:
        wrong = sorted(t for t in set(copied) | set(counts) if copied.get(t) != counts.get(t))
        return "row counts differ in " + ", ".join(wrong)
    return ""


def backup_sqlite(desk_file: Path, target: str | Path | None = None, *, now: datetime) -> BackupResult:
    if not desk_file.exists():
        raise NotFound(f"No desk at {desk_file}", code="backup.no_desk", params={"path": str(desk_file)})
    path = _resolve_target(target, default_dir(desk_file), now, ".db")
    counts = _copy_sqlite(desk_file, path)
    return BackupResult(str(path), path.stat().st_size, counts, "sqlite", now)


def inspect_sqlite(path: Path) -> tuple[int, dict[str, int]]:
    """Check a backup file: SQLite, intact, a crm desk, a schema this crm knows.

    Returns (schema version, row counts); raises what is wrong, in words a person can act on."""
    from crm_tui.data.migrations import latest_version

    if not path.is_file():
        raise NotFound(f"No file {path}", code="restore.no_file", params={"path": str(path)})
    with open(path, "rb") as head:
        if head.read(16) != b"SQLite format 3\x00":
            raise InvalidInput(
                f"{path} is not a crm desk (not an SQLite database)",
                {"file": "not a desk"},
                code="restore.not_desk",
                params={"path": str(path)},
            )
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise InvalidInput(
            f"Cannot open {path}: {error}", code="restore.unreadable", params={"path": str(path)}
        ) from error
    try:
        try:
            integrity = _integrity(conn)
        except sqlite3.DatabaseError as error:
            integrity = str(error)
        if integrity != "ok":
            raise InvalidInput(
                f"{path} failed the integrity check: {integrity}",
                {"file": "damaged"},
                code="restore.damaged",
                params={"path": str(path), "problem": integrity},
            )
        tables = _tables(conn)
        missing = [t for t in DESK_TABLES if t not in tables]
        if missing:
            raise InvalidInput(
                f"{path} is not a crm desk (no table {', '.join(missing)})",
                {"file": "not a desk"},
                code="restore.not_desk",
                params={"path": str(path), "missing": missing},
            )
        version = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
        counts = _counts(conn, tables)
    except sqlite3.DatabaseError as error:
        raise InvalidInput(
            f"{path} is not a crm desk ({error})", code="restore.not_desk", params={"path": str(path)}
        ) from error
    finally:
        conn.close()
    known = latest_version()
    if version > known:
        raise RuleViolation(
            f"{path} has schema version {version}, newer than this crm knows ({known}): upgrade crm first",
            code="restore.newer_schema",
            params={"path": str(path), "version": version, "known": known},
        )
    return version, counts


def holders(desk_file: Path) -> list[Holder]:
    """Other processes that have the desk's file (or its -wal/-shm) open: Linux ``/proc/*/fd``.

    Processes of other users cannot be seen without privileges; those seen are named."""
    targets = {str(desk_file), f"{desk_file}-wal", f"{desk_file}-shm"}
    me = os.getpid()
    found: list[Holder] = []
    for fd_dir in glob.glob("/proc/[0-9]*/fd"):
        pid = int(fd_dir.split("/")[2])
        if pid == me:
            continue
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                link = os.readlink(f"{fd_dir}/{name}")
            except OSError:
                continue
            if link in targets:
                found.append(Holder(pid, _command_line(pid)))
                break
    return sorted(found, key=lambda h: h.pid)


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part) or "?"


def restore_sqlite(desk_file: Path, source: Path, *, now: datetime) -> RestoreResult:
    source = source.expanduser().resolve()
    if source == desk_file:
        raise InvalidInput("That is the desk itself, not a backup", code="restore.same_file")
    version, counts = inspect_sqlite(source)
    busy = holders(desk_file)
    if busy:
        who = "; ".join(f"pid {h.pid}: {h.command}" for h in busy)
        raise RuleViolation(
            f"The desk {desk_file} is open in another process ({who}); close it and try again",
            code="restore.busy",
            params={"path": str(desk_file), "pids": [h.pid for h in busy]},
        )
    desk_file.parent.mkdir(parents=True, exist_ok=True)
    incoming = desk_file.with_name(f".{desk_file.name}.restore-{os.getpid()}")
    incoming.unlink(missing_ok=True)
    _copy_sqlite(source, incoming)
    kept = ""
    try:
        if desk_file.exists():
            # The desk is set aside untouched, with its write-ahead log (left by a crash): SQLite opens
            # the file under its new name with the log of that name, every commit included.
            aside = desk_file.with_name(f"{desk_file.name}.before-restore-{now:%Y-%m-%dT%H%M%S}")
            os.replace(desk_file, aside)
            for suffix in ("-wal", "-shm"):
                stale = Path(f"{desk_file}{suffix}")
                if stale.exists():
                    os.replace(stale, Path(f"{aside}{suffix}"))
            kept = str(aside)
        os.replace(incoming, desk_file)
        _fsync(desk_file.parent)
    finally:
        incoming.unlink(missing_ok=True)
    return RestoreResult(str(desk_file), str(source), kept, version, counts)


# -------------------------------------------------------------------------------------- PostgreSQL
def pg_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore``: on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise BackupError(
        f"{name} is not installed: a PostgreSQL desk is backed up with PostgreSQL's own tools "
        f"(Debian/Ubuntu: apt install postgresql-client)",
        code="backup.no_tool",
        params={"tool": name},
    )


def _pg_counts(db: Database) -> dict[str, int]:
    return {t: int(db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in db.get_tables()}


def backup_postgres(
    db: Database, url: str, target: str | Path | None = None, *, now: datetime
) -> BackupResult:
    tool = pg_tool("pg_dump")
    path = _resolve_target(target, postgres_default_dir(), now, ".dump")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    # One snapshot for the counts and the dump: pg_dump reads exactly the rows counted here.
    with db.atomic():
        db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = str(db.execute_sql("SELECT pg_export_snapshot()").fetchone()[0])
        counts = _pg_counts(db)
        done = subprocess.run(
            [tool, "-Fc", f"--snapshot={snapshot}", "-f", str(tmp), "--dbname", url],
            capture_output=True,
            text=True,
        )
    try:
        if done.returncode != 0:
            raise BackupError(
                f"pg_dump failed: {_last_line(done.stderr)}",
                code="backup.pg_dump",
                params={"stderr": done.stderr.strip()},
            )
        problem = _check_dump(tmp, counts)
        if problem:
            raise BackupError(
                f"The dump failed its check, nothing was kept: {problem}",
                code="backup.check",
                params={"problem": problem},
            )
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(str(path), path.stat().st_size, counts, "postgresql", now, tool)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _dump_tables(path: Path) -> tuple[set[str], set[str]]:
    """(tables, tables with data) that a custom-format dump lists; raises when it cannot be read."""
    done = subprocess.run([pg_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise InvalidInput(
            f"{path} is not a PostgreSQL dump: {_last_line(done.stderr)}",
            code="restore.not_desk",
            params={"path": str(path)},
        )
    tables: set[str] = set()
    with_data: set[str] = set()
    for line in done.stdout.splitlines():
        if line.startswith(";"):
            continue
        # "3345; 0 16386 TABLE DATA public lead postgres" / "215; 1259 16386 TABLE public lead postgres"
        parts = line.split()
        if parts[3:5] == ["TABLE", "DATA"] and len(parts) >= 7:
            with_data.add(parts[6].strip('"'))
        elif parts[3:4] == ["TABLE"] and len(parts) >= 6:
            tables.add(parts[5].strip('"'))
    return tables, with_data


def _check_dump(path: Path, counts: dict[str, int]) -> str:
    tables, with_data = _dump_tables(path)
    missing = sorted(t for t in counts if t not in tables or t not in with_data)
    return f"no data for {', '.join(missing)}" if missing else ""


def restore_postgres(url: str, source: Path) -> RestoreResult:
    source = source.expanduser().resolve()
    if not source.is_file():
        raise NotFound(f"No file {source}", code="restore.no_file", params={"path": str(source)})
    tables, _ = _dump_tables(source)
    missing = [t for t in DESK_TABLES if t not in tables]
    if missing:
        raise InvalidInput(
            f"{source} is not a crm desk (no table {', '.join(missing)})",
            code="restore.not_desk",
            params={"path": str(source), "missing": missing},
        )
    done = subprocess.run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            url,
            str(source),
        ],
        capture_output=True,
        text=True,
        # an app still connected holds locks on the tables: fail after a while and say so, never hang
        env={**os.environ, "PGOPTIONS": f"{os.environ.get('PGOPTIONS', '')} -c lock_timeout=30s".strip()},
    )
    if done.returncode != 0:
        raise BackupError(
            f"pg_restore failed, the database is as it was: {_last_line(done.stderr)}",
            code="restore.pg_restore",
            params={"stderr": done.stderr.strip()},
        )
    return RestoreResult(url, str(source), "", 0)


# ------------------------------------------------------------------------------------------- faces
def backup(db: Database, url: str, target: str | Path | None = None, *, now: datetime) -> BackupResult:
    """Back up the desk ``db`` (opened from ``url``) to ``target`` (a file or a folder; default:
    ``backups/`` beside an SQLite desk, the data folder's ``backups/`` for PostgreSQL)."""
    if is_sqlite(db):
        return backup_sqlite(sqlite_file(db), target, now=now)
    if is_postgres(db):
        return backup_postgres(db, url, target, now=now)
    raise BackupError("This database cannot be backed up by crm", code="backup.backend")


def newest(folder: Path) -> Path | None:
    found = backups_in(folder)
    return found[-1] if found else None


def due(folder: Path, now_epoch: float) -> bool:
    """A day has passed since the newest backup in ``folder`` (or there is none): a cheap check."""
    latest = newest(folder)
    return latest is None or now_epoch - latest.stat().st_mtime >= AUTO_EVERY.total_seconds()


def prune(folder: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` backups in ``folder``; returns the deleted paths."""
    found = backups_in(folder)
    gone = found[: max(0, len(found) - keep)]
    for path in gone:
        path.unlink(missing_ok=True)
    return [str(p) for p in gone]


def auto_backup(db: Database, *, now: datetime, now_epoch: float) -> BackupResult | None:
    """The daily backup of an SQLite desk: taken when the newest in ``backups/`` is a day old (or there is
    none), then the oldest are deleted beyond ``backups.keep``. ``None`` when none was due."""
    from crm_tui.services import settings

    if not is_sqlite(db):
        return None
    desk_file = sqlite_file(db)
    folder = default_dir(desk_file)
    if not desk_file.exists() or not due(folder, now_epoch):
        return None
    keep = int(settings.value("backups.keep"))
    result = backup_sqlite(desk_file, None, now=now)
    prune(folder, keep)
    return result
