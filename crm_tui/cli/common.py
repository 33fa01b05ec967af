"""What every command shares: ``--db``, ``--user``, ``--json``, one error handler, one output helper."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer

from crm_tui.services.errors import CrmError
from crm_tui.services.views import to_json

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="CRM_DB", help="Database file or URL (default ~/.local/share/crm-tui/crm.db)."
    ),
]
UserOpt = Annotated[str | None, typer.Option("--user", envvar="CRM_USER", help="Act as this login.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable keys, ids included).")]

ID_MAX = 2**63 - 1  # the largest id either database holds (a signed 64-bit integer)


def parse_id(text: str) -> int:
    """A record's id as typed (``42`` or ``#42``); anything else outside 1..2^63-1 is one ``error:`` line.

    Every command that takes an id parses it here (``typer.Argument(parser=parse_id)``), so a huge or
    malformed id is refused before the database is opened, never an overflow in the driver.
    """
    value = str(text).strip().removeprefix("#")
    if value.isascii() and value.isdigit() and 1 <= int(value) <= ID_MAX:
        return int(value)
    shown = str(text) if len(str(text)) <= 40 else str(text)[:40] + "..."
    raise fail(f"not an id: {shown!r} (ids are whole numbers from 1 to {ID_MAX})")


def id_argument(what: str) -> Any:
    """``Annotated[int, id_argument("Lead id.")]``: a positional id checked by :func:`parse_id`."""
    return typer.Argument(help=what, metavar="ID", parser=parse_id)


def id_option(flag: str, what: str) -> Any:
    """``Annotated[int | None, id_option("--lead", "Lead id.")] = None``: an id option, as checked."""
    return typer.Option(flag, help=what, metavar="ID", parser=parse_id)


@dataclass(frozen=True)
class Session:
    now: datetime
    user_id: int
    user_login: str


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on stderr; the caller raises the returned Exit."""
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.echo(f"error: {one_line}", err=True)
    return typer.Exit(code)


def busy_error() -> CrmError:
    """The refusal of a write that waited for another program's write lock longer than the busy timeout."""
    from crm_tui.data.db import busy_timeout_ms

    seconds = busy_timeout_ms() / 1000
    shown = f"{seconds:g}"
    return CrmError(
        f"the desk is busy: another program has held it for more than {shown} s; try again",
        "Busy",
        code="desk.busy",
        params={"seconds": seconds},
    )


def open_failure(error: Exception) -> typer.Exit:
    """One line for a database that cannot be opened: too new a schema, a busy desk, a bad path or URL."""
    from crm_tui.data.db import is_busy
    from crm_tui.data.migrations import SchemaTooNew

    if isinstance(error, SchemaTooNew):
        return fail(error.message)
    if is_busy(error):
        return fail(busy_error().message)
    return fail(f"cannot open the database: {error}")


@contextmanager
def session(db: str | None, user: str | None = None) -> Iterator[Session]:
    """Open the database (creating/upgrading it), act as a user, turn rule errors into one stderr line.

    The default user and pipeline are read first and written only when missing, so a command that
    only reads never waits for another program's write lock; a write that waits past the busy timeout
    ends with one ``error:`` line (code ``desk.busy``), never a traceback.
    """
    from crm_tui.data.db import is_busy, open_database
    from crm_tui.services import clock, pipelines, users

    db, user = db or _root_option("db"), user or _root_option("user")
    try:
        database = open_database(db)
    except Exception as error:  # noqa: BLE001 - a bad path or URL is the user's input
        raise open_failure(error) from error
    try:
        with database.connection_context():
            now = clock.utcnow()
            users.ensure_default(now)
            pipelines.ensure_default()
            actor = users.current(user, now=now)
            yield Session(now=now, user_id=actor.id, user_login=actor.login)
    except CrmError as error:
        raise fail(error.message) from error
    except Exception as error:
        if is_busy(error):
            raise fail(busy_error().message) from error
        raise
    finally:
        if not database.is_closed():
            database.close()


def _root_option(name: str) -> str | None:
    """``crm --db X lead list`` works like ``crm lead list --db X``: fall back to the root's option."""
    ctx = _current_context()
    if ctx is None:
        return None
    value = ctx.find_root().params.get(name)
    return str(value) if value else None


def _current_context() -> Any:
    """The running command's context. Typer 0.2x ships its own copy of click, whose context stack is
    not ``click``'s: asking the ``click`` package would always answer None (and ignore ``crm --db X``)."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # an older typer over the click package
        from click import get_current_context
    return get_current_context(silent=True)


def emit(data: Any, as_json: bool, render: Any = None) -> None:
    """Print JSON (``--json``) or the human form that ``render(data)`` returns (lines)."""
    if as_json:
        sys.stdout.write(json.dumps(to_json(data), ensure_ascii=False, indent=2) + "\n")
        return
    if render is None:
        typer.echo(str(data))
        return
    for line in render(data):
        typer.echo(line)


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """Plain aligned columns (no Rich: the CLI stays light to start)."""
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out
