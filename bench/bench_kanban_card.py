"""How fast the deal kanban and the contact card answer on a big desk, in the real (headless) app.

    .venv/bin/python bench/bench_kanban_card.py [--db /tmp/bench1m.db] [--leads 1000000] [--runs 20]

Uses ``--db`` when it exists (the 1M-lead demo desk), else builds one there with ``demo.generate``.
Adds a contact with 1,000 interactions (once). Prints median and p95 in milliseconds at 120x40 for:
kanban first paint (``2`` from the inbox, the deals mode made anew each time), a key moving the
cursor (j / l / h), moving a deal (``]`` then ``[``), coming back to the kanban from another screen (it
reloads), opening the contact card with 1,000 interactions, and loading the next page of its history.
Toasts are shown, as in the real app, and cleared before each measurement.

Two figures per action:

- ``frame``: from the key press to the last frame the app drew for it that changed what the terminal
  shows (the settled frame). Frames are timed where the app hands a finished screen update to its
  driver (``App._display``); a frame that redraws the same picture (Textual lays a new screen out once
  more after mounting it) is not counted.
- ``settled``: from the key press until Pilot sees the app idle (workers done, two ``pilot.pause()``).
  Pilot's idle detection sleeps in 20 ms steps: ``press`` waits for idle twice and each pause once
  more, so this figure carries about 80 ms of waiting on top of the frame (the "floor" row shows the
  two pauses alone).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from frames import forget_mode, record_frames

from crm_tui.data.db import database, open_database
from crm_tui.data.models import Contact, Deal, Interaction, Lead
from crm_tui.services import contacts, deals, interactions, pipelines, users

NOW = datetime(2026, 3, 2, 9, 0, 0)
MARK = "Bench: 1000 interactions"


def prepare(path: Path, leads: int) -> int:
    """The desk, and the id of the contact with 1,000 interactions."""
    db = open_database(str(path))
    with db.connection_context():
        if not Lead.select().exists():
            from crm_tui.services import demo

            start = time.perf_counter()
            demo.generate(leads=leads, now=NOW, seed=7)
            print(f"built a {leads}-lead demo desk in {time.perf_counter() - start:.0f} s")
        admin = users.ensure_default(NOW)
        pipelines.ensure_default()
        found = Contact.get_or_none(Contact.name == MARK)
        if found is None:
            mark = contacts.ContactEdit(MARK, "Bench LLC", emails=("bench-card@example.ru",))
            contact_id = contacts.create(mark, by=admin.id, now=NOW)
            deals.create("Bench deal", contact_id=contact_id, amount=100_000, by=admin.id, now=NOW)
            with database.atomic():
                for i in range(1000):
                    interactions.log(
                        "call_out" if i % 2 else "note",
                        contact_id=contact_id,
                        duration=60 + i,
                        summary=f"event {i}",
                        by=admin.id,
                        now=NOW - timedelta(hours=i),
                    )
        else:
            contact_id = found.id
        print(
            f"desk: {Lead.select().count()} leads, {Deal.select().count()} deals,"
            f" {Interaction.select().count()} interactions"
        )
    db.close()
    return int(contact_id)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def report(
    name: str, frames: list[float], settled: list[float], collected: int, *, samples: bool = False
) -> None:
    print(
        f"{name:<36} frame median {statistics.median(frames):6.1f} p95 {p95(frames):6.1f} ms"
        f"   settled median {statistics.median(settled):6.1f} p95 {p95(settled):6.1f} ms"
        f"   (n={len(frames)}, {collected} with a full GC)"
    )
    if samples:
        print(f"{'':<36} frames: {' '.join(f'{f:.0f}' for f in frames)}")


async def bench(
    path: Path, contact_id: int, runs: int, *, samples: bool = False, freeze: bool = False
) -> None:
    from textual.screen import Screen

    from crm_tui.app import make_app
    from crm_tui.screens.contact_card import ContactCardScreen
    from crm_tui.screens.deal_kanban import DealKanbanScreen

    app = make_app(str(path), clock=lambda: NOW)
    app.poll_seconds = 0
    frames: dict[str, list[float]] = {}
    settled: dict[str, list[float]] = {}
    full_gcs: list[float] = []  # how long each full (generation 2) garbage collection took
    gc_started = [0.0]
    collected: dict[str, int] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                full_gcs.append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(on_gc)
    drawn = record_frames(app, changes_only=True)  # when each frame that changed the picture was drawn

    async with app.run_test(size=(120, 40), notifications=True) as pilot:

        async def settle() -> None:
            for _ in range(2):
                await app.workers.wait_for_complete()
                await pilot.pause()

        async def timed(name: str, act: Callable[[], Awaitable[Any]]) -> None:
            if app._notifications:
                app.clear_notifications()
                await settle()
            drawn.clear()
            full_gcs.clear()
            start = time.perf_counter()
            await act()
            await settle()
            end = time.perf_counter()
            collected[name] = collected.get(name, 0) + bool(full_gcs)
            last = drawn[-1] if drawn else end
            frames.setdefault(name, []).append((last - start) * 1000)
            settled.setdefault(name, []).append((end - start) * 1000)

        await settle()
        while not app.memory_settled:  # a second after the first paint the app settles (see settle_memory)
            await pilot.pause(0.1)
        if freeze:  # the app freezes once its first screen is painted; this pushed screen's objects too
            gc.freeze()

        async def nothing() -> None:
            return None

        async def forget_deals() -> None:
            """Back to the inbox, and the deals mode as before its first opening."""
            await pilot.press("1")
            await settle()
            await forget_mode(app, "deals")

        for _ in range(runs):
            await timed("(floor: no key, two pauses)", nothing)
            await timed("kanban first paint (8 stages)", lambda: pilot.press("2"))
            screen = app.screen
            assert isinstance(screen, DealKanbanScreen)
            for _ in range(3):
                await timed("key: j (next card)", lambda: pilot.press("j"))
            await timed("key: l (next stage)", lambda: pilot.press("l"))
            await timed("key: h (previous stage)", lambda: pilot.press("h"))
            await timed("move a deal: ] (one stage on)", lambda: pilot.press("right_square_bracket"))
            await timed("move a deal: [ (one stage back)", lambda: pilot.press("left_square_bracket"))
            await app.push_screen(Screen())
            await settle()
            await timed("back to the kanban (it reloads)", app.pop_screen)
            await timed(
                "contact card, 1,000 interactions", lambda: app.push_screen(ContactCardScreen(contact_id))
            )
            await timed("card: end (next history page)", lambda: pilot.press("end"))
            await timed("card: down", lambda: pilot.press("down"))
            app.pop_screen()
            await settle()
            await forget_deals()
    gc.callbacks.remove(on_gc)
    for name in frames:
        report(name, frames[name], settled[name], collected[name], samples=samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="/tmp/bench1m.db")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--samples", action="store_true", help="also print every frame figure")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="also gc.freeze() after the first settle (the app freezes at its first paint)",
    )
    args = parser.parse_args()
    contact_id = prepare(Path(args.db), args.leads)
    asyncio.run(bench(Path(args.db), contact_id, args.runs, samples=args.samples, freeze=args.gc_freeze))


if __name__ == "__main__":
    main()
