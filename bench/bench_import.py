"""Import speed and memory: ``crm import contacts FILE.csv`` against a floor measured in the same run.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--runs 3] [--encoding cp1251]

Writes a CSV as Russian Excel saves it (``;``, CRLF, Windows-1251 by default): ``ФИО``, two phone
columns (mobile ``+7 9xx``, and ``8 (495) ...`` in every third row), ``E-mail``, ``Компания`` (one of
500), ``Теги``. Each measurement runs in its own process on a fresh desk, so its peak memory
(``ru_maxrss``) is its own:

- floor: raw ``sqlite3`` ``executemany`` of the same rows into ``contact`` and ``contact_channel``, with
  the values as they are stored (already E.164; no reading of the file, no checks, no search index);
- import: ``crm import contacts FILE`` end to end (a new process: detecting the encoding, reading,
  mapping, checking every phone and e-mail, matching, the bulk writes, the search index, the batch).

Prints wall seconds, rows/s and the ratio to the floor (median of ``--runs``), the CPU seconds each
used (user + system: what the wall time would be on an idle core), and the import's peak memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CRM = Path(sys.executable).with_name("crm")
FIRST = ["Иван", "Анна", "Пётр", "Мария", "Сергей", "Ольга", "Алексей", "Елена", "Дмитрий", "Наталья"]
LAST = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Фёдоров", "Соколов", "Михайлов", "Новиков"]


def make_rows(n: int) -> list[tuple[str, str, str, str, str, str]]:
    rnd = random.Random(7)
    rows = []
    for i in range(n):
        mobile = 9000000000 + i * 7 % 999999999
        n = str(2_000_000 + i)
        work = f"8 (495) {n[:3]}-{n[3:5]}-{n[5:]}" if i % 3 == 0 else ""
        rows.append(
            (
                f"{rnd.choice(LAST)} {rnd.choice(FIRST)} №{i}",
                f"+7 {str(mobile)[:3]} {str(mobile)[3:6]}-{str(mobile)[6:8]}-{str(mobile)[8:]}",
                work,
                f"client{i}@example{i % 50}.ru",
                f"ООО «Компания {i % 500}»",
                "опт, vip" if i % 5 == 0 else "",
            )
        )
    return rows


def write_csv(path: Path, rows: list[tuple[str, ...]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\r\n")
        writer.writerow(["ФИО", "Телефон", "Рабочий телефон", "E-mail", "Компания", "Теги"])
        writer.writerows(rows)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(db: Path, n: int) -> dict[str, float]:
    """Raw executemany of the same rows, values as stored."""
    rows = make_rows(n)
    before = rss_mb()
    start_usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = start_usage.ru_utime + start_usage.ru_stime
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO contact (id, name, company_id, owner_id, birthday, tags, created_at) "
        "VALUES (?, ?, NULL, 1, NULL, ?, '2026-01-01 00:00:00')",
        [(i + 1, r[0], r[5]) for i, r in enumerate(rows)],
    )
    channels = []
    for i, r in enumerate(rows):
        digits = "".join(c for c in r[1] if c.isdigit())
        channels.append((i + 1, "phone", "+" + digits, 0))
        channels.append((i + 1, "email", r[3], 0))
    conn.executemany(
        "INSERT INTO contact_channel (contact_id, kind, value, position, label) VALUES (?, ?, ?, ?, '')",
        channels,
    )
    conn.commit()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
        "rss_before": before,
        "rss_peak": rss_mb(),
    }


def fresh_desk(tmp: Path, name: str) -> Path:
    db = tmp / name
    subprocess.run([str(CRM), "--db", str(db), "init"], check=True, capture_output=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--encoding", default="cp1251")
    parser.add_argument("--child-floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_floor:
        print(json.dumps(floor(Path(args.child_floor), args.rows)))
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "contacts.csv"
        write_csv(source, make_rows(args.rows), args.encoding)
        size = source.stat().st_size / 1e6
        floors, imports, peaks, floor_cpu, import_cpu = [], [], [], [], []
        for run in range(args.runs):
            db = fresh_desk(tmp, f"floor{run}.db")
            out = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--child-floor", str(db)],
                check=True,
                capture_output=True,
                text=True,
            )
            measured = json.loads(out.stdout)
            floors.append(measured["seconds"])
            floor_cpu.append(measured["cpu"])
            db = fresh_desk(tmp, f"import{run}.db")
            started = time.perf_counter()
            done = subprocess.run(
                [
                    "/usr/bin/time",
                    "-f",
                    "%M %U %S",
                    str(CRM),
                    "--db",
                    str(db),
                    "import",
                    "contacts",
                    str(source),
                    "--json",
                ],
                capture_output=True,
                text=True,
            )
            imports.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(done.stderr[-2000:])
            result = json.loads(done.stdout)
            assert result["counts"]["created"] == args.rows, result["counts"]
            rss, user, system = done.stderr.strip().splitlines()[-1].split()
            peaks.append(int(rss) / 1024)
            import_cpu.append(float(user) + float(system))
            count = sqlite3.connect(db).execute("SELECT count(*) FROM search_index").fetchone()[0]
            assert count >= args.rows, count
        f, i = statistics.median(floors), statistics.median(imports)
        print(f"{args.rows} rows, {size:.1f} MB {args.encoding} CSV, median of {args.runs} runs")
        fc, ic = statistics.median(floor_cpu), statistics.median(import_cpu)
        print(f"{'':8} {'seconds':>8} {'rows/s':>9} {'ratio':>6} {'CPU s':>7}")
        print(f"{'floor':8} {f:8.2f} {args.rows / f:9.0f} {1:6.2f} {fc:7.2f}")
        print(f"{'import':8} {i:8.2f} {args.rows / i:9.0f} {f / i:6.2f} {ic:7.2f}")
        print(f"import peak memory: {max(peaks):.0f} MB (each run: {', '.join(f'{p:.0f}' for p in peaks)})")


if __name__ == "__main__":
    main()
