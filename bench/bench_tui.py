"""Start-up, screen switching, inbox paging and search typing of the app on a big desk.

    .venv/bin/python bench/bench_tui.py [/tmp/bench1m.db] [start runs] [key rounds]

The app writes to the database (migrations, the default user): run it on a copy of a desk you keep.

Start-up: wall time of a whole process (``python -c`` that builds the app and runs it headless at
120x40 with ``CRM_EXIT_AFTER_PAINT=1``): interpreter start, imports, opening and migrating the
database, the first keyset page of leads and the first frame, then exit. Median and max.

Keys: the app in ``App.run_test`` at 120x40, median and p95 of three figures: from the key press to the
first and to the last frame the app drew for it that changed what the terminal shows (timed where a
finished screen update goes to the driver; a frame redrawing the same cells is not counted), and to
Pilot's idle (workers done, two pauses: about 40 ms of waiting on top). For: switching screens, each
round opening contacts (``3``) and deals (``2``) for the first time (after the app has settled, a second
after start-up: it imports the other screens and freezes what start-up built) (their modes are made anew) and
then again (their screens come back); holding ``pagedown`` and ``down`` in the inbox through several
hundred rows (the following pages load); and typing into search (``/``, a Cyrillic name, a phone
fragment), per key.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from frames import forget_mode, record_frames

DB = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench1m.db"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3

CODE = (
    "import sys; from crm_tui.app import make_app; make_app(sys.argv[1]).run(headless=True, size=(120, 40))"
)
NAME = "Дмитрий"
PHONE = "7904859"


def start_up() -> None:
    env = dict(os.environ, CRM_EXIT_AFTER_PAINT="1")
    times: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", CODE, DB], env=env, check=True, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"start to first painted inbox ({DB}, {RUNS} runs): median {statistics.median(times):.0f} ms, "
        f"max {max(times):.0f} ms"
    )


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"{name:<40} median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})")


async def keys() -> None:
    from textual.worker import WorkerCancelled

    from crm_tui.app import make_app

    app = make_app(DB)
    app.poll_seconds = 0
    results: dict[str, list[float]] = {}
    frames: dict[str, list[float]] = {}
    firsts: dict[str, list[float]] = {}
    drawn = record_frames(app, changes_only=True)

    async with app.run_test(size=(120, 40)) as pilot:

        async def settle() -> None:
            for _ in range(2):
                while True:
                    try:
                        await app.workers.wait_for_complete()
                        break
                    except WorkerCancelled:  # an exclusive worker replaced by a newer one
                        continue
                await pilot.pause()

        async def timed(name: str, act: Callable[[], Awaitable[Any]]) -> None:
            drawn.clear()
            start = time.perf_counter()
            await act()
            await settle()
            end = time.perf_counter()
            results.setdefault(name, []).append((end - start) * 1000)
            frames.setdefault(name, []).append(((drawn[-1] if drawn else end) - start) * 1000)
            firsts.setdefault(name, []).append(((drawn[0] if drawn else end) - start) * 1000)

        def press(key: str) -> Callable[[], Awaitable[Any]]:
            return lambda: pilot.press(key)

        async def nothing() -> None:
            return None

        await settle()
        while not app.memory_settled:  # a second after the first paint the app settles (see settle_memory)
            await pilot.pause(0.1)
        for round_ in range(ROUNDS):
            if round_:
                for mode in ("contacts", "deals"):
                    await forget_mode(app, mode)
            await timed("(floor: settling with no key)", nothing)
            await timed("first switch 1->3 (contacts)", press("3"))
            await timed("switch 3->1 (leads)", press("1"))
            await timed("first switch 1->2 (deals)", press("2"))
            await timed("switch 2->1 (leads)", press("1"))
            await timed("again 1->3 (contacts)", press("3"))
            await timed("switch 3->1 (leads)", press("1"))
            await timed("again 1->2 (deals)", press("2"))
            await timed("switch 2->1 (leads)", press("1"))
        for _ in range(ROUNDS):
            for _ in range(15):  # 15 x ~35 rows: past 500 rows, ten pages
                await timed("inbox: pagedown", press("pagedown"))
            for _ in range(60):
                await timed("inbox: down", press("down"))
            await timed("inbox: home", press("home"))
        for _ in range(ROUNDS):
            await timed("search: / (open)", press("slash"))
            for ch in NAME:
                await timed("search: type a name (per key)", press(ch))
            for _ in NAME:
                await pilot.press("backspace")
            await settle()
            for ch in PHONE:
                await timed("search: type a phone (per key)", press(ch))
            await pilot.press("escape")
            await settle()
    print("key press to the first frame drawn after it (what the eye sees move):")
    for name, samples in firsts.items():
        report(name, samples)
    print("key press to the last frame drawn for it (the settled frame: pages loaded and shown):")
    for name, samples in frames.items():
        report(name, samples)
    print("key press to Pilot's idle (workers done, two pauses; includes ~40 ms of Pilot's waiting):")
    for name, samples in results.items():
        report(name, samples)


def main() -> None:
    start_up()
    asyncio.run(keys())


if __name__ == "__main__":
    main()
