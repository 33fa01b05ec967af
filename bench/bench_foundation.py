"""Foundation speed on a million-lead desk: build, search, paging, conversion, stage moves, kanban counts.

    .venv/bin/python bench/bench_foundation.py [--db /tmp/crm-bench-1m.db] [--leads 1000000] [--rebuild]

Builds the database with ``crm demo --leads N`` (timed as a whole process) unless ``--db`` names one that
already has leads; then times each operation through the services, as the app and the CLI call them:
warm cache, one connection, ``synchronous=FULL`` for the writes (as the desk runs). Prints the median
(and p95 where it matters) of many runs next to the target. ``crm lead list`` is timed as a whole
process, the median of ``--process-runs`` runs. The conversions and stage moves change the database
(it is a throwaway under /tmp).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from crm_tui.data.db import open_database
from crm_tui.data.models import Deal, Lead, Stage
from crm_tui.services import clock, deals, leads, search

ROOT = Path(__file__).resolve().parent.parent
CRM = Path(sys.executable).with_name("crm")
NAME_FRAGMENTS = ("иван", "петров", "ольга", "кузнецова", "смирн", "алексей соколов", "мария", "john")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, bool]] = []

    def add(self, what: str, values: list[float], target: float, *, with_p95: bool = False) -> None:
        median = statistics.median(values)
        worst = p95(values)
        checked = worst if with_p95 else median
        self.rows.append(
            (what, ms(median), ms(worst) if with_p95 else "", f"< {target * 1000:g} ms", checked < target)
        )
        print(f"{what:<50} median {ms(median)}" + (f"  p95 {ms(worst)}" if with_p95 else ""), flush=True)

    def print(self) -> None:
        print()
        print(f"{'operation':<50} {'median':>11} {'p95':>11}  {'target':<12} ok")
        for what, median, worst, target, ok in self.rows:
            print(f"{what:<50} {median:>11} {worst:>11}  {target:<12} {'yes' if ok else 'NO'}")


def build(path: Path, count: int) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"building {path}: crm demo --leads {count:,} ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [str(CRM), "demo", "--leads", str(count), "--db", str(path), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    summary = json.loads(done.stdout)
    print(
        f"built in {seconds:.1f} s (whole process): {summary['leads']:,} leads, {summary['contacts']:,} "
        f"contacts, {summary['deals']:,} deals, {summary['stage_moves']:,} stage moves, "
        f"{summary['interactions']:,} interactions, {summary['tasks']:,} tasks",
        flush=True,
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="/tmp/crm-bench-1m.db")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="build the database even if it has leads")
    parser.add_argument("--runs", type=int, default=50, help="runs per query")
    parser.add_argument("--process-runs", type=int, default=10, help="runs of `crm lead list`")
    args = parser.parse_args()
    path = Path(args.db)
    report = Report()

    has_leads = False
    if path.exists() and not args.rebuild:
        db = open_database(str(path))
        with db.connection_context():
            has_leads = Lead.select().exists()
        db.close()
    if has_leads:
        print(f"reusing {path} (--rebuild to build it again)")
    else:
        report.add("build: crm demo (whole process)", [build(path, args.leads)], 120.0)

    db = open_database(str(path))
    rng = random.Random(1)
    runs = args.runs
    with db.connection_context():
        total = Lead.select().count()
        top = int(Lead.select(Lead.id).order_by(Lead.id.desc()).limit(1).scalar())
        print(f"{total:,} leads, {Deal.select().count():,} deals in {path}")

        def sample_leads(n: int) -> list[Lead]:
            ids = [rng.randrange(1, top + 1) for _ in range(n)]
            return list(Lead.select(Lead.id, Lead.name, Lead.phone, Lead.email).where(Lead.id.in_(ids)))

        # search: what people type into the palette
        search.search("прогрев")  # first query opens the index
        names = [rng.choice(NAME_FRAGMENTS) for _ in range(runs)]
        report.add(
            "search: Cyrillic name fragment",
            [timed(lambda q=q: search.search(q)) for q in names],
            0.010,
            with_p95=True,
        )
        picked = sample_leads(runs * 2)
        phones = []
        for lead in picked[:runs]:
            digits = lead.phone[2:]
            start = rng.randrange(0, len(digits) - 6)
            phones.append(f"{digits[start : start + 3]} {digits[start + 3 : start + 6]}")  # "916 123"
        report.add(
            "search: phone fragment ('916 123')",
            [timed(lambda q=q: search.search(q)) for q in phones],
            0.010,
            with_p95=True,
        )
        mails = [lead.email.split("@")[0][:8] for lead in picked if lead.email][:runs]
        report.add(
            "search: e-mail fragment",
            [timed(lambda q=q: search.search(q)) for q in mails],
            0.010,
            with_p95=True,
        )

        # the inbox: 50 leads newest first at any depth
        for label, after in (("top", None), ("middle", top // 2), ("end", 60)):
            report.add(
                f"lead page of 50 at the {label}",
                [timed(lambda a=after: leads.list_page(after_id=a)) for _ in range(runs)],
                0.002,
            )
        for label, kwargs in (
            ("status=in_work", {"status": "in_work"}),
            ("source=vk", {"source": "vk"}),
            ("status=new, source=google", {"status": "new", "source": "google"}),
        ):
            values = [timed(lambda k=kwargs: leads.list_page(**k)) for _ in range(runs)]  # type: ignore[arg-type]
            report.add(f"filtered page: {label}", values, 0.002)
            deep = [timed(lambda k=kwargs: leads.list_page(after_id=top // 2, **k)) for _ in range(runs)]  # type: ignore[arg-type]
            report.add(f"filtered page: {label}, middle", deep, 0.002)

        # the rules: conversion and a stage move (each one commits, synchronous=FULL)
        now = clock.utcnow()
        qualified = [
            i
            for (i,) in Lead.select(Lead.id)
            .where(Lead.status == "qualified")
            .order_by(Lead.id.desc())
            .limit(runs)
            .tuples()
        ]
        conversions = [timed(lambda i=i: leads.convert(i, by=1, now=now)) for i in qualified]
        report.add("convert a lead (contact, company, deal)", conversions, 0.010)
        second = Stage.select(Stage.id).where(Stage.position == 1).scalar()
        movable = [
            i
            for (i,) in Deal.select(Deal.id)
            .where(Deal.stage == second)
            .order_by(Deal.id.desc())
            .limit(runs)
            .tuples()
        ]
        report.add(
            "move a deal one stage",
            [timed(lambda i=i: deals.step(i, +1, by=1, now=now)) for i in movable],
            0.010,
        )
        report.add("kanban: stage counts with sums", [timed(deals.stage_columns) for _ in range(10)], 0.100)
    db.close()

    # the CLI as a whole process
    env = {**os.environ, "CRM_USER": "admin"}
    command = [str(CRM), "lead", "list", "--db", str(path)]
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm the OS cache
    whole = [
        timed(lambda: subprocess.run(command, check=True, capture_output=True, env=env))
        for _ in range(args.process_runs)
    ]
    report.add("`crm lead list` (whole process)", whole, 0.400)
    report.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
