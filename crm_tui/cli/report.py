"""``crm report NAME``: the head of sales' reports as text, ``--json`` or ``--csv``.

``NAME`` is one of funnel, sources, velocity, forecast, managers, pareto. Every report takes
``--from``/``--to`` (UTC dates, inclusive), ``--owner LOGIN`` and ``--pipeline NAME``.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, session, table

if TYPE_CHECKING:
    from crm_tui.services.reports import Report, Table

app = typer.Typer(no_args_is_help=True)

FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day of the period, YYYY-MM-DD (UTC, inclusive).")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last day of the period, YYYY-MM-DD (UTC, inclusive).")
]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only this manager's leads and deals (login).")]
PipelineOpt = Annotated[
    str | None, typer.Option("--pipeline", help="Pipeline name (default: the default one).")
]
CurrencyOpt = Annotated[str, typer.Option("--currency", help="Sum amounts of deals in this currency.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV on stdout: every table, money in minor units.")]

HELP = {
    "funnel": "Deals at each stage, stage-to-stage conversion, lead -> contact -> won, lost by reason.",
    "sources": "Per utm_source and keyword: leads, qualified, converted, won, conversion, first-call delay.",
    "velocity": "Median and p90 days in each stage; deals stuck past the stage's threshold.",
    "forecast": "Open pipeline weighted by stage probability, by expected-close month and by owner.",
    "managers": "Per owner: leads, calls and talk time, first-call delay vs the one-hour rule, deals won.",
    "pareto": "The clients that bring 80% of won revenue, and their share of all paying clients.",
}


def parse_day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise fail(f"{option} must be a date like 2026-03-01, not {value!r}") from error


def render(tables: list[Table], heading: str, currency: str) -> list[str]:
    from crm_tui.services.reports import cell_text

    lines = [heading]
    for t in tables:
        lines += ["", t.title]
        if not t.rows:
            lines.append("  (nothing)")
            continue
        body = [[cell_text(v, i in t.money, currency) for i, v in enumerate(row)] for row in t.rows]
        lines += table(body, list(t.columns))
    return lines


def _run(
    name: str,
    start: str | None,
    end: str | None,
    owner: str | None,
    pipeline: str | None,
    currency: str,
    db: str | None,
    user: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    from crm_tui.services import pipelines, reports, users

    if as_json and as_csv:
        raise fail("choose one of --json and --csv")
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    with session(db, user) as s:
        flt = reports.ReportFilter(
            start=first,
            end=last,
            owner_id=users.by_login(owner).id if owner else None,
            pipeline_id=pipelines.resolve_pipeline(pipeline),
            currency=currency.upper(),
        )
        report: Report = reports.run(name, flt, now=s.now)
    if as_csv:
        sys.stdout.write(reports.to_csv(report.tables()))
        return
    who = f", owner {owner}" if owner else ""
    heading = f"{name}: {flt.period_label}{who}"
    emit(report, as_json, lambda data: render(data.tables(), heading, flt.currency))


def _command(name: str) -> None:
    def command(
        start: FromOpt = None,
        end: ToOpt = None,
        owner: OwnerOpt = None,
        pipeline: PipelineOpt = None,
        currency: CurrencyOpt = "RUB",
        db: DbOpt = None,
        user: UserOpt = None,
        as_json: JsonOpt = False,
        as_csv: CsvOpt = False,
    ) -> None:
        _run(name, start, end, owner, pipeline, currency, db, user, as_json, as_csv)

    command.__doc__ = HELP[name]
    app.command(name)(command)


for _name in HELP:
    _command(_name)
