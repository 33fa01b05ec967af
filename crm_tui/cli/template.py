"""``crm template ...``: the mail templates, shipped and the desk's own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, session, table
from crm_tui.cli.lead import local

app = typer.Typer(no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="proposal, invoice, act, follow-up, reminder, auto-reply...")]
LangOpt = Annotated[str, typer.Option("--lang", help="en or ru.")]


def _check_lang(lang: str) -> None:
    if lang not in ("en", "ru"):
        raise fail(f"--lang must be en or ru, not {lang!r}")


@app.command("list")
def list_(db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Every template in both languages; 'own' marks the desk's version of it."""
    from crm_tui.services import mail_templates

    with session(db, user):
        rows = mail_templates.list_all()

    def render(_data: Any) -> list[str]:
        body = [
            [r.name, r.lang, "own" if r.own else "shipped", local(r.updated_at), r.subject[:60]] for r in rows
        ]
        return table(body, ["name", "lang", "version", "changed", "subject"])

    emit(rows, as_json, render)


@app.command("show")
def show(
    name: NameArg, lang: LangOpt = "en", db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False
) -> None:
    """The template's text, as it is edited (Subject: line, blank line, body)."""
    from crm_tui.services import mail_templates

    _check_lang(lang)
    with session(db, user):
        found = mail_templates.get(name, lang)
    emit(found, as_json, lambda d: d.source.rstrip("\n").split("\n"))


@app.command("edit")
def edit(
    name: NameArg,
    lang: LangOpt = "en",
    file: Annotated[Path | None, typer.Option("--file", help="Take the text from this file.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Drop the desk's version: shipped again.")] = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit the desk's version of a template in $EDITOR (or from --file); a broken one is refused."""
    from crm_tui.services import mail_templates

    _check_lang(lang)
    if reset and file is not None:
        raise fail("--reset takes no --file")
    text = _read(file) if file is not None else None
    with session(db, user) as s:
        if reset:
            dropped = mail_templates.reset(name, lang)
            emit(
                {"name": name, "lang": lang, "reset": dropped},
                as_json,
                lambda _d: [
                    f"{name} ({lang}): " + ("the shipped version again" if dropped else "was shipped")
                ],
            )
            return
        current = mail_templates.get(name, lang)
        if text is None:
            edited = typer.edit(current.source, extension=".txt")
            if edited is None or edited == current.source:
                emit({"name": name, "lang": lang, "changed": False}, as_json, lambda _d: ["no change"])
                return
            text = edited
        saved = mail_templates.put(name, lang, text, by=s.user_id, now=s.now)
    emit(saved, as_json, lambda d: [f"{d.name} ({d.lang}) saved: the desk's version is used from now on"])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise fail(f"{path} is not UTF-8 text") from error
    except OSError as error:
        raise fail(f"cannot read {path}: {error.strerror or error}") from error


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="NAME.LANG.txt files, e.g. proposal.ru.txt.")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store templates from files named NAME.LANG.txt; all or nothing (one bad file, none stored)."""
    from crm_tui.data.db import database
    from crm_tui.services import mail_templates
    from crm_tui.services.errors import CrmError

    parsed: list[tuple[str, str, str, Path]] = []
    for path in files:
        parts = path.name.split(".")
        if len(parts) != 3 or parts[2] != "txt" or parts[1] not in ("en", "ru"):
            raise fail(f"{path.name}: name the file NAME.LANG.txt (e.g. proposal.ru.txt)")
        parsed.append((parts[0], parts[1], _read(path), path))
    saved = []
    with session(db, user) as s:
        with database.atomic():
            for name, lang, text, path in parsed:
                try:
                    saved.append(mail_templates.put(name, lang, text, by=s.user_id, now=s.now))
                except CrmError as error:
                    error.message = f"{path.name}: {error.message}"
                    raise
    emit(saved, as_json, lambda d: [f"{t.name} ({t.lang}) imported" for t in d])
