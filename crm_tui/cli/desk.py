"""Desk-wide commands: ``crm init``, ``crm search``, ``crm user ...`` and ``crm stage ...``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import (
    DbOpt,
    JsonOpt,
    UserOpt,
    _root_option,
    emit,
    fail,
    open_failure,
    session,
    table,
)

if TYPE_CHECKING:
    from crm_tui.services.views import SearchHit, StageView, UserView

SEARCH_KINDS = ("lead", "contact", "company", "deal")

user_app = typer.Typer(no_args_is_help=True)
stage_app = typer.Typer(no_args_is_help=True)


def _safe_url(url: str) -> str:
    """The URL without its password, fit to print."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def init(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create the database, or upgrade an older one in place (every row is kept)."""
    from crm_tui.data import migrations
    from crm_tui.data.db import open_database, resolve_url
    from crm_tui.services import clock, pipelines, users
    from crm_tui.services.errors import CrmError

    url = resolve_url(db or _root_option("db"))
    try:
        database = open_database(url, migrate=False)
    except Exception as error:  # noqa: BLE001 - a bad path or URL is the user's input
        raise open_failure(error) from error
    try:
        with database.connection_context():
            before = migrations.current_version(database)
            applied = migrations.upgrade(database)
            now = clock.utcnow()
            users.ensure_default(now)
            pipelines.ensure_default()
            version = migrations.current_version(database)
    except CrmError as error:
        raise fail(error.message) from error
    except Exception as error:  # noqa: BLE001 - e.g. a server that refuses the connection
        raise open_failure(error) from error
    finally:
        if not database.is_closed():
            database.close()
    result = {
        "url": _safe_url(url),
        "schema_version": version,
        "previous_version": before,
        "applied": applied,
    }

    def render(data: dict[str, Any]) -> list[str]:
        if not before:
            state = "created"
        elif applied:
            state = f"upgraded from version {before}"
        else:
            state = "up to date"
        return [f"database: {data['url']}", f"schema version: {version} ({state})"]

    emit(result, as_json, render)


def _render_hits(hits: list[SearchHit]) -> list[str]:
    if not hits:
        return ["nothing found"]
    return table([[h.kind, str(h.id), h.label, h.detail] for h in hits], ["KIND", "ID", "NAME", "DETAIL"])


def search(
    text: Annotated[str, typer.Argument(help="Any fragment of a name, company, e-mail or phone.")],
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these kinds: lead, contact, company, deal.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many results.")] = 20,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find leads, contacts, companies and deals, newest first."""
    from crm_tui.services import search as search_service

    if not 1 <= limit <= 1000:
        raise fail("--limit must be between 1 and 1000")
    for k in kind or []:
        if k not in SEARCH_KINDS:
            raise fail(f"unknown kind {k!r}; one of: {', '.join(SEARCH_KINDS)}")
    if search_service.too_short(text):
        raise fail(f"type at least {search_service.MIN_CHARS} characters to search")
    with session(db, user):
        hits = search_service.search(text, kinds=kind or None, limit=limit)
    emit(hits, as_json, _render_hits)


def _render_users(rows: list[UserView]) -> list[str]:
    return table([[str(u.id), u.login, u.name, u.role] for u in rows], ["ID", "LOGIN", "NAME", "ROLE"])


@user_app.command("add")
def user_add(
    login: Annotated[str, typer.Argument(help="Login (lower case), used by --owner and --user.")],
    name: Annotated[str, typer.Option("--name", help="Full name, e.g. 'Анна Петрова'.")] = "",
    role: Annotated[
        str, typer.Option("--role", help="admin, head, manager, operator or freelancer.")
    ] = "manager",
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user of the desk."""
    from crm_tui.services import users

    with session(db, user) as s:
        created = users.create(login, name, role, now=s.now)
    emit(created, as_json, lambda u: [f"user #{u.id} {u.login} ({u.name}, {u.role}) added"])


@user_app.command("list")
def user_list(db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """The active users of the desk."""
    from crm_tui.services import users

    with session(db, user):
        rows = users.list_all()
    emit(rows, as_json, _render_users)


def _render_stages(stages: list[StageView], counts: dict[int, int]) -> list[str]:
    rows = [
        [
            str(s.position + 1),
            s.name,
            s.name_ru,
            s.kind,
            f"{s.probability}%",
            str(counts.get(s.id, 0)),
            str(s.id),
        ]
        for s in stages
    ]
    return table(rows, ["#", "STAGE", "ЭТАП", "KIND", "PROB", "DEALS", "ID"])


@stage_app.command("list")
def stage_list(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Pipeline name (default one).")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The pipeline's stages in order; `#` is the position `crm deal move` accepts."""
    from crm_tui.services import deals, pipelines

    with session(db, user):
        pid = pipelines.resolve_pipeline(pipeline)
        columns = deals.stage_columns(pid)
    stages = [c.stage for c in columns]
    counts = {c.stage.id: c.count for c in columns}
    if as_json:
        emit([{**_stage_json(c.stage), "deals": c.count, "totals": c.totals} for c in columns], True)
        return
    emit(stages, False, lambda data: _render_stages(data, counts))


def _stage_json(stage: StageView) -> dict[str, Any]:
    from crm_tui.services.views import to_json

    data: dict[str, Any] = to_json(stage)
    data["number"] = stage.position + 1
    return data


@stage_app.command("add")
def stage_add(
    name: Annotated[str, typer.Argument(help="English name of the new stage.")],
    after: Annotated[int, typer.Option("--after", help="Insert after the stage with this number.")],
    name_ru: Annotated[str, typer.Option("--ru", help="Russian name.")] = "",
    probability: Annotated[int, typer.Option("--probability", help="Win probability, percent.")] = 0,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Insert an open stage (service delivery may be several stages)."""
    from crm_tui.services import pipelines
    from crm_tui.services.errors import InvalidInput

    with session(db, user):
        pid = pipelines.default_pipeline_id()
        open_count = len([s for s in pipelines.stages(pid) if s.kind == "open"])
        if not 1 <= after <= open_count:
            raise InvalidInput(f"--after must be an open stage's number, 1 to {open_count}")
        if not 0 <= probability <= 100:
            raise InvalidInput("--probability must be between 0 and 100")
        stage = pipelines.add_stage(
            pid, name, after_position=after - 1, name_ru=name_ru, probability=probability
        )
    emit(_stage_json(stage), as_json, lambda _d: [f"stage {stage.position + 1} {stage.name} added"])


@stage_app.command("rename")
def stage_rename(
    stage_ref: Annotated[str, typer.Argument(metavar="STAGE", help="Stage number or name.")],
    name: Annotated[str, typer.Argument(help="New English name.")],
    name_ru: Annotated[str | None, typer.Option("--ru", help="New Russian name.")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename a stage."""
    from crm_tui.services import pipelines

    with session(db, user):
        pid = pipelines.default_pipeline_id()
        old = pipelines.resolve_stage(pid, stage_ref)
        stage = pipelines.rename_stage(old.id, name, name_ru)
    emit(_stage_json(stage), as_json, lambda _d: [f"stage {stage.position + 1} {old.name} -> {stage.name}"])


@stage_app.command("move")
def stage_move(
    stage_ref: Annotated[str, typer.Argument(metavar="STAGE", help="Stage number or name.")],
    to: Annotated[int, typer.Argument(help="Its new number.")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reorder the open stages (Won and Lost stay last)."""
    from crm_tui.services import deals, pipelines
    from crm_tui.services.errors import InvalidInput

    with session(db, user):
        pid = pipelines.default_pipeline_id()
        stage = pipelines.resolve_stage(pid, stage_ref)
        open_count = len([s for s in pipelines.stages(pid) if s.kind == "open"])
        if stage.kind == "open" and not 1 <= to <= open_count:
            raise InvalidInput(f"The new number must be between 1 and {open_count}")
        stages = pipelines.move_stage(stage.id, to - 1)
        counts = {c.stage.id: c.count for c in deals.stage_columns(pid)}
    emit(stages, as_json, lambda data: _render_stages(data, counts))


def register(app: typer.Typer) -> None:
    """Add the desk-wide commands to the root app."""
    app.command("init")(init)
    app.command("search")(search)
    app.add_typer(user_app, name="user", help="Users of the desk: add, list.")
    app.add_typer(stage_app, name="stage", help="Pipeline stages: list, add, rename, reorder.")
