"""How long each report takes on a big desk: prints the median and worst of several runs per report.

    .venv/bin/python bench/bench_reports.py [--db /tmp/bench1m.db] [--runs 5] [--build 1000000]
                                            [--report NAME ...] [--year]

Reuses the database if it exists (``crm demo --leads 1000000 --db /tmp/bench1m.db`` makes one); with
``--build N`` and no file, it first fills one with the demo generator (N leads over a year). A file at
an older schema version is upgraded first, as opening it in the app would (it is written to: bench a
copy of a desk you want to keep as it is). Each report runs over two periods: all time, and the last 30
days before the newest lead (what the Reports screen opens with); ``--year`` adds the last 365 days.
Times are for the service call alone, warm cache, one connection, as the screen's worker runs it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from crm_tui.data import migrations
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Deal, Interaction, Lead, StageHistory
from crm_tui.services import reports
from crm_tui.services.reports import ReportFilter


def build(path: Path, leads: int) -> None:
    from crm_tui.services import demo, pipelines, users

    print(f"building {path} with {leads:,} demo leads ...", flush=True)
    started = time.perf_counter()
    db = open_database(str(path))
    with db.connection_context():
        now = datetime(2026, 11, 27, 10, 0)
        users.ensure_default(now)
        pipelines.ensure_default()
        demo.generate(leads=leads, now=now)
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="/tmp/bench1m.db")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", type=int, default=0, help="fill a missing --db with this many demo leads")
    parser.add_argument(
        "--report", action="append", choices=reports.REPORTS, help="only this report (repeatable)"
    )
    parser.add_argument("--year", action="store_true", help="also time the last 365 days")
    args = parser.parse_args()
    path = Path(args.db)
    if not path.exists():
        if not args.build:
            print(f"{path} does not exist: run `crm demo --leads 1000000 --db {path}` or pass --build N")
            return 2
        build(path, args.build)
    db = open_database(str(path), migrate=False)
    with db.connection_context():
        pending = [
            m.version for m in migrations.all_migrations() if m.version not in migrations.applied_versions(db)
        ]
        if pending:
            print(f"upgrading the schema (steps {pending}) ...", flush=True)
            started = time.perf_counter()
            migrations.upgrade(db)
            print(f"upgraded in {time.perf_counter() - started:.1f} s", flush=True)
        newest = Lead.select(Lead.created_at).order_by(Lead.created_at.desc()).scalar()
        sizes = {
            "leads": Lead.select().count(),
            "deals": Deal.select().count(),
            "stage moves": StageHistory.select().count(),
            "interactions": Interaction.select().count(),
        }
        print(f"{path}: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items()))
        if isinstance(newest, str):
            newest = datetime.fromisoformat(newest)
        now = newest or datetime(2026, 11, 27)
        periods = {
            "all time": ReportFilter(),
            "last 30 days": ReportFilter(start=(now - timedelta(days=29)).date(), end=now.date()),
        }
        if args.year:
            periods["last 365 days"] = ReportFilter(start=(now - timedelta(days=364)).date(), end=now.date())
        print(f"{'report':10s} {'period':14s} {'median ms':>10s} {'worst ms':>10s}")
        worst_all = 0.0
        for name in args.report or reports.REPORTS:
            for label, flt in periods.items():
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    reports.run(name, flt, now=now)
                    times.append((time.perf_counter() - started) * 1000)
                worst_all = max(worst_all, max(times))
                median = statistics.median(times)
                print(f"{name:10s} {label:14s} {median:10.0f} {max(times):10.0f}", flush=True)
        print(f"slowest single run: {worst_all:.0f} ms")
    database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
