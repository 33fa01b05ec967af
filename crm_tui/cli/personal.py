"""``crm contact export-personal`` and ``crm contact erase``: a person's data on request (152-FZ, GDPR)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, id_argument, session

IdArg = Annotated[int, id_argument("Contact id.")]
OutOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the JSON to FILE (default: standard output).")
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why: the request (its date, channel, number).", metavar="TEXT")
]
YesOpt = Annotated[bool, typer.Option("--yes", help="Erase without asking.")]


def export_personal(contact_id: IdArg, output: OutOpt = None, db: DbOpt = None, user: UserOpt = None) -> None:
    """Everything the desk holds about the person as JSON: the contact, its channels and company, leads
    with UTM data, deals, every interaction, tasks, web form submissions. The request is recorded."""
    from crm_tui.services import personal_data

    with session(db, user) as s:
        data = personal_data.export(contact_id, by=s.user_id, now=s.now)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise fail(f"cannot write {output}: {error.strerror or error}") from error
    counts = ", ".join(f"{len(data[k])} {k}" for k in ("leads", "deals", "interactions", "tasks"))
    typer.echo(f"contact #{contact_id}: {counts} written to {output}")


def _render_erase(result: dict[str, Any]) -> list[str]:
    touched = ", ".join(f"{n} {table}" for table, n in result["touched"].items())
    return [
        f"contact #{result['contact_id']} erased (request #{result['id']}): {touched}",
        "amounts, stages and dates are kept; backups made before now still hold the data",
    ]


def erase(
    contact_id: IdArg,
    reason: ReasonOpt = None,
    yes: YesOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase the person's data everywhere (names, phones, e-mails, birthday, tags, notes, what the web
    forms posted); amounts, stages and dates stay, so reports keep their totals. Cannot be undone."""
    from crm_tui.services import personal_data

    asks = bool((reason or "").strip()) and not yes  # without a reason the service refuses first
    if asks:
        try:
            sure = typer.confirm(f"Erase contact #{contact_id}'s personal data for good?", default=False)
        except typer.Abort:  # no answer (end of input, ctrl+c)
            sure = False
        if not sure:
            raise fail("not erased: answer y, or pass --yes")
    with session(db, user) as s:
        result = personal_data.erase(contact_id, reason, by=s.user_id, now=s.now)
    emit(result, as_json, _render_erase)


def register(contact_app: typer.Typer) -> None:
    contact_app.command("export-personal")(export_personal)
    contact_app.command("erase")(erase)
