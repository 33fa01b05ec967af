"""The ``crm`` command: opens the app with no subcommand; one sub-app per resource otherwise.

Nothing here imports Textual: ``crm lead list`` must not pay for the UI.
"""

from __future__ import annotations

from typing import Annotated

import typer

from crm_tui.cli import (
    backup,
    company,
    config,
    contact,
    deal,
    deal_line,
    demo,
    desk,
    doc,
    dupes,
    export,
    imports,
    intake,
    lead,
    mail,
    personal,
    product,
    remind,
    report,
    script,
    task,
    task_plan,
    template,
)
from crm_tui.cli.common import DbOpt, UserOpt

app = typer.Typer(
    name="crm",
    help="crm-tui: a keyboard-first CRM for sales desks. Run with no command to open the app.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: DbOpt = None,
    user: UserOpt = None,
    lang: Annotated[
        str | None, typer.Option("--lang", envvar="CRM_LANG", help="UI language: en or ru.")
    ] = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from crm_tui.app import run_app  # the only way from the CLI into Textual

    run_app(db=db, user=user, lang=lang)


desk.register(app)
config.register(app)
demo.register(app)
app.add_typer(lead.app, name="lead", help="Leads: register, list, triage, convert.")
app.add_typer(deal.app, name="deal", help="Deals: list and move through the pipeline.")
app.add_typer(contact.app, name="contact", help="Contacts: add, list, show the card, edit, archive.")
app.add_typer(company.app, name="company", help="Companies: add, list, show, edit, archive.")
dupes.register(app, contact.app, company.app)
personal.register(contact.app)
deal.app.add_typer(deal_line.app, name="line", help="A deal's lines: what is sold; the amount follows.")
app.add_typer(doc.app, name="doc", help="Documents from a deal's lines: proposal, invoice, act.")
app.add_typer(product.app, name="product", help="The catalogue: products, prices, VAT rates.")
app.add_typer(task.app, name="task", help="Tasks: what is due, done.")
task_plan.register(task.app)
remind.register(app)
app.add_typer(mail.app, name="mail", help="E-mail: send from a template, the outbox, fetch replies.")
app.add_typer(template.app, name="template", help="Mail templates: list, show, edit, import.")
backup.register(app)
export.register(app)
imports.register()
app.add_typer(task.log_app, name="log", help="Log an interaction (a call).")
app.add_typer(script.app, name="script", help="Call scripts: list, import, export, stats.")
app.add_typer(intake.app, name="intake", help="Web forms: form keys, HTML snippet, intake server.")
app.add_typer(report.app, name="report", help="Reports: funnel, sources, forecast, 80/20 and more.")


def main() -> None:
    app()
