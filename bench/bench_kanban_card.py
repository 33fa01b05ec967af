"""How fast the deal kanban and the contact card answer on a big desk, in the real (headless) app.

    .venv/bin/python bench/bench_kanban_card.py [--db /tmp/bench1m.db] [--leads 1000000] [--runs 20]

Uses ``--db`` when it exists (the 1M-lead demo desk), else builds one there with ``demo.generate``.
Adds a contact with 1,000 interactions (once). Prints median and p95 in milliseconds, from the key
press to the settled frame (workers done, screen refreshed) at 120x40:
kanban first paint, a key moving the cursor (j / l), moving a deal (``]`` then ``[``), opening the
contact card with 1,000 interactions, and loading the next page of its history.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
            contact_id = contacts.create(contacts.ContactEdit(MARK, "Bench LLC"), by=admin.id, now=NOW)
            deals.create("Bench deal", contact_id=contact_id, amount=100_000, by=admin.id, now=NOW)
            with database.atomic():
                for i in range(1000):
                    interactions.log("call_out" if i % 2 else "note", contact_id=contact_id,
                                     duration=60 + i, summary=f"event {i}", by=admin.id,
                                     now=NOW - timedelta(hours=i))
        else:
            contact_id = found.id
        print(f"desk: {Lead.select().count()} leads, {Deal.select().count()} deals,"
              f" {Interaction.select().count()} interactions")
    db.close()
    return int(contact_id)


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"{name:<44} median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})")


async def bench(path: Path, contact_id: int, runs: int) -> None:
    from crm_tui.app import make_app
    from crm_tui.screens.contact_card import ContactCardScreen
    from crm_tui.screens.deal_kanban import DealKanbanScreen

    app = make_app(str(path), clock=lambda: NOW)
    app.poll_seconds = 0
    results: dict[str, list[float]] = {}

    async with app.run_test(size=(120, 40)) as pilot:

        async def settle() -> None:
            for _ in range(2):
                await app.workers.wait_for_complete()
                await pilot.pause()

        async def timed(name: str, act: Callable[[], Awaitable[Any]]) -> None:
            start = time.perf_counter()
            await act()
            await settle()
            results.setdefault(name, []).append((time.perf_counter() - start) * 1000)

        await settle()

        async def nothing() -> None:
            return None

        for _ in range(runs):
            await timed("(floor: settling with no key)", nothing)
            await timed("kanban first paint (8 stages)", lambda: app.push_screen(DealKanbanScreen()))
            screen = app.screen
            assert isinstance(screen, DealKanbanScreen)
            for _ in range(3):
                await timed("key: j (next card)", lambda: pilot.press("j"))
            await timed("key: l (next stage)", lambda: pilot.press("l"))
            await timed("key: h (previous stage)", lambda: pilot.press("h"))
            await timed("move a deal: ] (one stage on)", lambda: pilot.press("right_square_bracket"))
            await timed("move a deal: [ (one stage back)", lambda: pilot.press("left_square_bracket"))
            app.pop_screen()
            await settle()
            await timed("contact card, 1,000 interactions",
                        lambda: app.push_screen(ContactCardScreen(contact_id)))
            await timed("card: end (next history page)", lambda: pilot.press("end"))
            await timed("card: down", lambda: pilot.press("down"))
            app.pop_screen()
            await settle()
    for name, samples in results.items():
        report(name, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="/tmp/bench1m.db")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    contact_id = prepare(Path(args.db), args.leads)
    asyncio.run(bench(Path(args.db), contact_id, args.runs))


if __name__ == "__main__":
    main()
