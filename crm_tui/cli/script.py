"""``crm script list|import|export|stats``: call scripts as YAML files, and how the calls went."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, session, table

if TYPE_CHECKING:
    from crm_tui.services.scripts import ScriptInfo, ScriptStats

app = typer.Typer(no_args_is_help=True)


@contextmanager
def shipped_scripts(now: datetime) -> Iterator[None]:
    """The shipped scripts, installed on the desk's first use of scripts in one transaction with what the
    command does next: a command refused after that (an unknown name, a bad file) leaves the desk as it
    was. Once they are installed, a command that only reads takes no write lock."""
    from crm_tui.data.db import database
    from crm_tui.services import scripts

    if scripts.defaults_installed():
        yield
        return
    with database.atomic():
        scripts.ensure_defaults(now=now)
        yield


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _render_list(rows: list[ScriptInfo]) -> list[str]:
    return table(
        [[r.name, r.lang, r.title, ", ".join(r.offer), str(r.nodes), str(r.calls)] for r in rows],
        ["NAME", "LANG", "TITLE", "OFFERED FOR", "NODES", "CALLS"],
    )


@app.command("list")
def list_scripts(db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """The call scripts of the desk (the shipped ones are installed on first use)."""
    from crm_tui.services import scripts

    with session(db, user) as s, shipped_scripts(s.now):
        rows = scripts.list_all()
    emit(rows, as_json, _render_list)


@app.command("import")
def import_script(
    file: Annotated[Path, typer.Argument(help="A YAML script file ('-' reads stdin).")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and store a script; a bad file is refused with its wrong lines and nothing is stored."""
    from crm_tui.services import scripts

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {file}: {error}") from error
    with session(db, user) as s, shipped_scripts(s.now):
        info = scripts.import_text(text, by=s.user_id, now=s.now, source=str(file))
    emit(info, as_json, lambda i: [f"imported {i.name} (version {i.version}, {i.nodes} nodes)"])


@app.command("export")
def export_script(
    name: Annotated[str, typer.Argument(help="Script name (see crm script list).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
) -> None:
    """Print the script's YAML (as imported, comments kept), or write it to a file."""
    from crm_tui.services import scripts

    with session(db, user) as s, shipped_scripts(s.now):
        text = scripts.export_text(name)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise fail(f"cannot write {output}: {error}") from error


def _render_stats(st: ScriptStats) -> list[str]:
    lines = [
        f"{st.name}: {st.title}",
        f"calls {st.calls}, successful {st.successes} ({_percent(st.success_rate)}), "
        f"ended early {st.ended_early}",
        "",
        "outcomes:",
    ]
    lines += [f"  {label}: {n}" for _oid, label, n in st.outcomes]
    lines += ["", "nodes:"]
    for node in st.nodes:
        lines.append(
            f"  {node.node}: reached {node.reached}, success {_percent(node.success_rate)}, "
            f"no suitable answer {node.no_answer}"
        )
        lines += [f"    {i}. {text}: {n}" for i, (text, n) in enumerate(node.answers, 1)]
        lines += [f'    0. "{said}"' for said in node.no_answer_said]
    lines += ["", "operators:"]
    lines += [
        f"  {o.login or '-'}: calls {o.calls}, successful {o.successes} ({_percent(o.success_rate)})"
        for o in st.operators
    ]
    return lines


@app.command("stats")
def script_stats(
    name: Annotated[str, typer.Argument(help="Script name.")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Calls per node, answers taken, "no suitable answer" counts, outcomes; success per node and operator."""
    from crm_tui.services import scripts

    with session(db, user) as s, shipped_scripts(s.now):
        stats = scripts.stats(name)
    emit(stats, as_json, _render_stats)
