"""``crm doc ...``: documents made from a deal's lines: the proposal, the invoice, the act of work done."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, id_argument, session, table
from crm_tui.cli.lead import local

if TYPE_CHECKING:
    from crm_tui.services.documents import DocView

app = typer.Typer(no_args_is_help=True)

DealArg = Annotated[int, id_argument("Deal id.")]
DocArg = Annotated[int, id_argument("Document id (as in `crm doc list DEAL`).")]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="ru or en (default: the contact's tag en/ru, else documents.lang)."),
]


def _money(d: DocView) -> str:
    from crm_tui.services.money import format_money

    return format_money(d.total, d.currency)


def _said(d: DocView) -> list[str]:
    return [f"made {d.label} (document #{d.id}) for deal #{d.deal_id}: {_money(d)}, {d.lang}"]


def _rows(rows: list[DocView]) -> list[str]:
    if not rows:
        return ["no documents"]
    body = [
        [
            str(d.id),
            d.kind,
            str(d.number),
            str(d.version),
            d.lang,
            local(d.issued_at),
            _money(d),
            local(d.sent_at) if d.sent_at else "",
        ]
        for d in rows
    ]
    return table(body, ["ID", "KIND", "NUMBER", "VERSION", "LANG", "ISSUED", "TOTAL", "SENT"])


def _new(kind: str, deal_id: int, lang: str | None, db: str | None, user: str | None, as_json: bool) -> None:
    from crm_tui.services import documents

    with session(db, user) as s:
        view = documents.new(deal_id, kind, lang=lang, by=s.user_id, now=s.now)
    emit(view, as_json, _said)


new_app = typer.Typer(no_args_is_help=True, help="Make the next version of a document from the deal's lines.")
app.add_typer(new_app, name="new")


@new_app.command("proposal")
def new_proposal(
    deal_id: DealArg, lang: LangOpt = None, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False
) -> None:
    """A commercial proposal (КП): the offer, its validity date and terms."""
    _new("proposal", deal_id, lang, db, user, as_json)


@new_app.command("invoice")
def new_invoice(
    deal_id: DealArg, lang: LangOpt = None, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False
) -> None:
    """An invoice (счёт на оплату) with the desk's bank requisites."""
    _new("invoice", deal_id, lang, db, user, as_json)


@new_app.command("act")
def new_act(
    deal_id: DealArg, lang: LangOpt = None, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False
) -> None:
    """An act of work done (акт выполненных работ), with both parties' signature places."""
    _new("act", deal_id, lang, db, user, as_json)


@app.command("list")
def list_(deal_id: DealArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A deal's documents, every version, oldest first."""
    from crm_tui.services import documents

    with session(db, user):
        rows = documents.for_deal(deal_id)
    emit(rows, as_json, _rows)


@app.command("render")
def render(
    doc_id: DocArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="pdf, docx or html.")] = "pdf",
    out: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
) -> None:
    """Write a document as PDF, DOCX or HTML, from the version as it was made. Nothing is written when
    the template fails (its file and line are said)."""
    from crm_tui.services import documents

    if out is None:
        raise fail("say where to write it: -o FILE")
    with session(db, user):
        data = documents.render(doc_id, fmt)
    target = out.expanduser()
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".crm-doc-")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, target)
    except OSError as error:
        raise fail(f"cannot write {target}: {error.strerror or error}") from error
    typer.echo(f"wrote {target} ({len(data)} bytes)")


@app.command("sent")
def sent(doc_id: DocArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Record that this version went to the client (the deal's history says which version)."""
    from crm_tui.services import documents

    with session(db, user) as s:
        view = documents.mark_sent(doc_id, by=s.user_id, now=s.now)
    emit(view, as_json, lambda d: [f"{d.label} (document #{d.id}) marked sent"])
