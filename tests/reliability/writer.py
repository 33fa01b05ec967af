"""A desk's day at speed, for the crash tests: ``python -m tests.reliability.writer DB SEED``.

Runs ``crm`` commands one after another in this process, as typed (``crm_tui.cli.app`` with the
command's arguments): adds leads, converts them, moves, loses, signs and wins deals. After each command
that succeeded it prints one line, ``ack <command> <its JSON output, compact>``, and flushes: what the
crash test may expect to find after killing this process at any moment.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys

import typer

from crm_tui.cli import app

COMMAND = typer.main.get_command(app)  # built once: typer builds it anew on every app() call


def run(db: str, *args: str) -> dict[str, object] | None:
    """``crm --db DB ARGS --json``; its JSON output, or None when it was refused."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            COMMAND.main([*args, "--json", "--db", db], standalone_mode=False)
    except SystemExit as stop:
        if stop.code:
            return None
    except Exception as error:  # noqa: BLE001 - click's Exit and the like: a refusal
        if getattr(error, "exit_code", 1):
            return None
    text = out.getvalue().strip()
    return json.loads(text) if text else None


def main(db: str, seed: int) -> None:
    rnd = random.Random(seed)
    print("ready", flush=True)
    leads: list[int] = []
    deals: list[int] = []
    for n in range(100_000):
        roll = rnd.random()
        if roll < 0.35 or not leads:
            name = f"Клиент {seed}-{n}"
            done = run(db, "lead", "add", "--name", name, "--phone", f"+7 9{rnd.randrange(10**9):09d}")
            if done:
                leads.append(int(done["lead"]["id"]))  # type: ignore[index]
                print("ack lead-add", json.dumps({"id": leads[-1], "name": name}), flush=True)
        elif roll < 0.55:
            lead_id = leads.pop(rnd.randrange(len(leads)))
            done = run(db, "lead", "convert", str(lead_id), "--qualify")
            if done:
                deals.append(int(done["deal_id"]))  # type: ignore[arg-type]
                print("ack convert", json.dumps(done), flush=True)
        elif deals:
            deal_id = deals[rnd.randrange(len(deals))]
            kind = rnd.choice(["move", "move", "lose", "sign-acts", "win"])
            if kind == "move":
                args = ["deal", "move", str(deal_id), str(rnd.randint(1, 5))]
            elif kind == "lose":
                args = ["deal", "lose", str(deal_id), "--reason", "дорого"]
            elif kind == "sign-acts":
                args = ["deal", "sign-acts", str(deal_id)]
            else:
                args = ["deal", "move", str(deal_id), "Won"]
            done = run(db, *args)
            if done:
                print(f"ack deal-{kind}", json.dumps({"id": deal_id}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
