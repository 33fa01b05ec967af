"""``crm demo``: fill the desk with a realistic demo (users, a year of leads, deals, calls, tasks)."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from typing import Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, session

LeadsOpt = Annotated[
    int, typer.Option("--leads", min=0, help="How many leads to create (about a quarter become deals).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Same seed, same desk (on an empty database).")]


def demo(
    leads: LeadsOpt = 300,
    seed: SeedOpt = 7,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a demo desk: managers and operators, leads from ad channels over the last year, contacts,
    deals at every stage, calls, meetings and tasks. A million leads take about a minute."""
    from crm_tui.services import demo as demo_service

    with session(db, user) as s:
        started = time.perf_counter()
        with typer.progressbar(length=leads, label="Demo desk", file=sys.stderr, show_pos=True) as bar:
            shown = 0

            def progress(done: int, total: int) -> None:
                nonlocal shown
                bar.update(done - shown)
                shown = done

            summary = demo_service.generate(leads=leads, now=s.now, seed=seed, progress=progress)
        seconds = round(time.perf_counter() - started, 1)
    result: dict[str, Any] = {"seed": seed, "seconds": seconds, **asdict(summary)}

    def render(data: dict[str, Any]) -> list[str]:
        labels = (
            ("leads", "leads"),
            ("contacts", "contacts"),
            ("companies", "companies"),
            ("deals", "deals"),
            ("stage_moves", "stage moves"),
            ("interactions", "interactions"),
            ("tasks", "tasks"),
            ("users", "new users"),
            ("products", "new products"),
            ("search_entries", "search entries"),
        )
        lines = [f"{data[key]:>12,}  {label}" for key, label in labels]
        lines.append(f"Demo desk ready in {data['seconds']} s (seed {data['seed']}).")
        return lines

    emit(result, as_json, render)


def register(app: typer.Typer) -> None:
    """Add ``crm demo`` to the root app."""
    app.command("demo")(demo)
