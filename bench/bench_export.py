"""Export speed and memory: ``crm export leads`` to CSV against a floor measured in the same run.

    .venv/bin/python bench/bench_export.py [--db /tmp/crm-bench-export.db] [--leads 100000] [--runs 3]

Builds the database with ``crm demo --leads N`` unless ``--db`` names one that has leads. Each
measurement runs in its own process, so its peak memory (``resource.getrusage().ru_maxrss``) is its own:

- floor: raw ``sqlite3`` + ``csv.writer`` over ``SELECT * FROM lead ORDER BY id`` (no names looked up,
  no conversion): the least any CSV export of the table can cost;
- export csv / excel / json / xlsx: ``services.export.export`` as ``crm export leads`` runs it (keyset
  pages, owner and contact names joined, cells converted).

Prints rows/s, the ratio to the floor (the median of ``--runs`` runs each), and the peak memory of each
process next to the same process's memory before it exported (imports and an open database): flat
memory means the peak does not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CRM = Path(sys.executable).with_name("crm")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(what: str, db: str, out: str) -> None:
    """One measurement; prints JSON: seconds, rows, peak memory before and after (MB)."""
    if what == "floor":
        before = rss_mb()
        started = time.perf_counter()
        conn = sqlite3.connect(db)
        cursor = conn.execute("SELECT * FROM lead ORDER BY id")
        count = 0
        with open(out, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([d[0] for d in cursor.description])
            for count, row in enumerate(cursor, 1):  # noqa: B007
                writer.writerow(row)
        conn.close()
    else:
        from crm_tui.data.db import open_database
        from crm_tui.services import export

        database = open_database(db)
        database.connect()
        before = rss_mb()
        fmt, excel = ("csv", True) if what == "excel" else (what, False)
        started = time.perf_counter()
        if fmt == "xlsx":
            with open(out, "wb") as binary:
                count = export.export("leads", fmt, binary, export.Filters(), now=datetime_now())
        else:
            with open(out, "w", encoding="utf-8", newline="") as text:
                count = export.export("leads", fmt, text, export.Filters(), excel=excel, now=datetime_now())
        database.close()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": count, "before_mb": before, "peak_mb": rss_mb()}))


def datetime_now():  # type: ignore[no-untyped-def]
    from crm_tui.data.models import utcnow

    return utcnow()


def measure(what: str, db: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / f"leads.{what}")
        done = subprocess.run(
            [sys.executable, __file__, "--child", what, "--db", db, "--out", out],
            check=True,
            capture_output=True,
            text=True,
        )
        result: dict[str, float] = json.loads(done.stdout)
        result["bytes"] = Path(out).stat().st_size
        return result


def build(path: Path, count: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"building {path}: crm demo --leads {count:,} ...", flush=True)
    subprocess.run(
        [str(CRM), "demo", "--leads", str(count), "--db", str(path), "--json"],
        check=True,
        capture_output=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="/tmp/crm-bench-export.db")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="csv,excel,json,xlsx")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.out)
        return 0
    path = Path(args.db)
    if not path.exists():
        build(path, args.leads)
    with sqlite3.connect(path) as conn:
        leads = conn.execute("SELECT COUNT(*) FROM lead").fetchone()[0]
    print(
        f"{path}: {leads:,} leads; {args.runs} runs each, median; each run a process of its own", flush=True
    )
    results: dict[str, list[dict[str, float]]] = {}
    for what in ["floor", *args.formats.split(",")]:
        results[what] = [measure(what, str(path)) for _ in range(args.runs)]
        best = statistics.median(r["seconds"] for r in results[what])
        print(f"  {what:<6} {best:6.2f} s", flush=True)
    floor = statistics.median(r["rows"] / r["seconds"] for r in results["floor"])
    print()
    head = f"{'export':<8} {'rows':>9} {'rows/s':>10} {'vs floor':>9}"
    print(f"{head} {'MB before':>10} {'MB peak':>8} {'file MB':>8}")
    for what, runs in results.items():
        speed = statistics.median(r["rows"] / r["seconds"] for r in runs)
        print(
            f"{what:<8} {int(runs[0]['rows']):>9,} {speed:>10,.0f} {speed / floor:>9.2f}"
            f" {max(r['before_mb'] for r in runs):>10.1f} {max(r['peak_mb'] for r in runs):>8.1f}"
            f" {runs[0]['bytes'] / 1e6:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
