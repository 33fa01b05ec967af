"""How fast the task queue opens on a desk with 100k tasks: the query, and the screen in the real app.

    .venv/bin/python bench/task_queue.py [--tasks 100000] [--runs 15]

Prints medians and p95 in milliseconds. The screen figure is from pressing ``4`` until the first frame
showing the filled queue leaves the compositor (headless app, 140x40), the queries running in a thread
worker as in use.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from crm_tui.data.db import database, open_database
from crm_tui.services import pipelines, task_queue, users

NOW = datetime(2026, 3, 2, 9, 0, 0)


def seed(path: Path, count: int) -> int:
    db = open_database(str(path))
    with db.connection_context():
        admin = users.ensure_default(NOW)
        people = [admin.id] + [users.create(f"m{i}", f"Manager {i}", now=NOW).id for i in range(9)]
        pipelines.ensure_default()
    db.close()
    rng = random.Random(4)
    rows = []
    for _ in range(count):
        due = NOW + timedelta(minutes=rng.randint(-60 * 24 * 30, 60 * 24 * 30))
        done = due + timedelta(minutes=rng.randint(0, 600)) if rng.random() < 0.25 and due < NOW else None
        created = NOW - timedelta(days=40)
        who = rng.choice(people)
        rows.append(("Call the client back", due, done, who, admin.id, "todo", -1, due, created))
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO task (title, due_at, done_at, assignee_id, created_by_id, kind, reminded_slot,"
        " next_remind_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in rows],
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return admin.id


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})"


def bench_query(path: Path, user_id: int, runs: int) -> tuple[list[float], list[float]]:
    open_database(str(path))
    mine, everyone = [], []
    with database.connection_context():
        for _ in range(runs):
            start = time.perf_counter()
            task_queue.queue(now=NOW, assignee_id=user_id)
            mine.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            task_queue.queue(now=NOW, assignee_id=None)
            everyone.append((time.perf_counter() - start) * 1000)
    return mine, everyone


async def bench_screen(path: Path, runs: int) -> list[float]:
    from crm_tui.app import make_app
    from crm_tui.notify import RecordingNotifier
    from crm_tui.screens.tasks import TaskQueueScreen

    samples: list[float] = []
    for _ in range(runs):
        app = make_app(str(path), clock=lambda: NOW)
        app.notifier = RecordingNotifier(works=False)  # type: ignore[attr-defined]
        frames: list[float] = []
        shown = asyncio.Event()
        display = app._display

        def record(screen, renderable, display=display, frames=frames, shown=shown):  # type: ignore[no-untyped-def]
            if renderable is not None and isinstance(screen, TaskQueueScreen) and screen.rows:
                frames.append(time.perf_counter())
                shown.set()
            display(screen, renderable)

        app._display = record  # type: ignore[method-assign]
        async with app.run_test(size=(140, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            start = time.perf_counter()
            await pilot.press("4")
            await shown.wait()
            samples.append((frames[0] - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        user_id = seed(path, args.tasks)
        print(f"seeded {args.tasks} tasks in {time.perf_counter() - start:.1f} s")
        mine, everyone = bench_query(path, user_id, args.runs)
        print(f"queue query, my tasks:         {percentiles(mine)}")
        print(f"queue query, everyone's tasks: {percentiles(everyone)}")
        screen = asyncio.run(bench_screen(path, max(3, args.runs // 3)))
        print(f"queue screen, key 4 to shown:  {percentiles(screen)}")


if __name__ == "__main__":
    main()
