"""Soak: the intake server, CLI loops and the app on one desk at once for N minutes, then a full check.

    .venv/bin/python bench/soak.py [--minutes 1] [--cli 2] [--seed 7] [--db /tmp/soak.db]

A fresh desk (a 300-lead demo and one form key, unless ``--db`` names one) gets, all at once:

- ``crm intake serve`` in a subprocess, fed posts back to back by one keep-alive client (new leads, and
  now and then the same phone again: a repeat request);
- ``--cli`` processes each running ``crm`` commands in a loop (the click command built once, run with
  each command's arguments as typed): lead add, convert, deal move / lose / sign-acts / win, lead list,
  search, stage list, report funnel;
- the app headless (``App.run_test`` at 120x40) switching screens, opening search and typing, paging.

An error is anything but a success or a rule's own refusal: a traceback, a "database is locked", an
intake answer other than 200/201/202/503 or a dropped connection, an app that crashed. Latencies are
p50/p99 per kind of operation, each with its ratio to a floor measured in the same run under the same
load: ``GET /`` (no database) for intake posts, ``crm user list`` (opening the desk and reading the
smallest table) for the CLI, a settle with no key pressed for the app. At the end every process is
stopped and the desk is checked whole (``tests/reliability``'s check: integrity, stage totals against
a recount, deal states, stage history chains, leads converted once). The exit status is 1 on any
error or inconsistency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

Samples = dict[str, list[float]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(db: str, fresh: bool) -> str:
    """Bring the desk up (a demo when fresh) and return a form key for the intake posts."""
    from crm_tui.data.db import open_database
    from crm_tui.services import clock, demo, intake, pipelines, users

    opened = open_database(db)
    with opened.connection_context():
        now = clock.utcnow()
        users.ensure_default(now)
        pipelines.ensure_default()
        if fresh:
            demo.generate(leads=300, now=now, seed=7)
        key = intake.add_form("Soak landing", by=None, now=now, default_source="soak").key
    opened.close()
    return str(key)


# --- the CLI loops ----------------------------------------------------------------------------------


def cli_loop(db: str, seed: int, stop_at: float, out: Any) -> None:
    """One process running ``crm`` commands until ``stop_at``; sends back latencies and errors."""
    import typer

    from crm_tui.cli import app

    command = typer.main.get_command(app)
    rnd = random.Random(seed)
    samples: Samples = {}
    errors: list[str] = []
    refusals = 0
    leads: list[int] = []
    deals: list[int] = []

    def run(kind: str, *args: str) -> Any:
        nonlocal refusals
        stdout, stderr = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        code: int | None = 0
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                returned = command.main([*args, "--db", db], standalone_mode=False)
            code = returned if isinstance(returned, int) else 0  # without standalone mode, Exit(1) returns 1
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception as error:  # noqa: BLE001 - click's Exit carries the code; anything else is a crash
            code = getattr(error, "exit_code", None)
            if code is None:
                errors.append(f"{' '.join(args)}: {type(error).__name__}: {error}")
                return None
        samples.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        err = stderr.getvalue()
        if code:
            if "busy" in err or "locked" in err or not err.startswith("error: "):
                errors.append(f"{' '.join(args)}: {err.strip()[:200]}")
            else:
                refusals += 1
            return None
        text = stdout.getvalue().strip()
        return json.loads(text) if text.startswith(("{", "[")) else text

    n = 0
    while time.monotonic() < stop_at:
        n += 1
        roll = rnd.random()
        if roll < 0.1:
            run("floor: user list", "user", "list")
        elif roll < 0.3 or not leads:
            done = run("lead add", "lead", "add", "--name", f"Клиент {seed}-{n}", "--phone",
                       f"+7 9{rnd.randrange(10**9):09d}", "--json")  # fmt: skip
            if done:
                leads.append(int(done["lead"]["id"]))
        elif roll < 0.4:
            done = run("lead convert", "lead", "convert", str(leads.pop(rnd.randrange(len(leads)))),
                       "--qualify", "--json")  # fmt: skip
            if done:
                deals.append(int(done["deal_id"]))
        elif roll < 0.55 and deals:
            deal = str(deals[rnd.randrange(len(deals))])
            kind = rnd.choice(["move", "move", "lose", "sign-acts", "win"])
            if kind == "move":
                run("deal move", "deal", "move", deal, str(rnd.randint(1, 5)), "--json")
            elif kind == "lose":
                run("deal lose", "deal", "lose", deal, "--reason", "дорого", "--json")
            elif kind == "sign-acts":
                run("deal sign-acts", "deal", "sign-acts", deal, "--json")
            else:
                run("deal win", "deal", "move", deal, "Won", "--json")
        elif roll < 0.7:
            run("lead list", "lead", "list", "--json")
        elif roll < 0.8:
            run("search", "search", rnd.choice(["иван", "916 1", "ооо", "smith"]), "--json")
        elif roll < 0.9:
            run("stage list", "stage", "list", "--json")
        else:
            run("report funnel", "report", "funnel", "--json")
    out.put({"samples": samples, "errors": errors, "refusals": refusals})


# --- the intake client ------------------------------------------------------------------------------


def intake_loop(base: str, key: str, seed: int, stop_at: float, result: dict[str, Any]) -> None:
    rnd = random.Random(seed)
    samples: Samples = {}
    errors: list[str] = []
    busy = 0
    phones: list[str] = []
    with httpx.Client(timeout=30) as client:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            if n % 10 == 0:
                started = time.perf_counter()
                client.get(base + "/")
                samples.setdefault("floor: GET /", []).append((time.perf_counter() - started) * 1000)
                continue
            phone = (
                rnd.choice(phones) if phones and rnd.random() < 0.1 else f"+7 916 {rnd.randrange(10**7):07d}"
            )
            phones.append(phone)
            started = time.perf_counter()
            try:
                answer = client.post(f"{base}/forms/{key}", json={"name": f"Посетитель {n}", "phone": phone})
            except httpx.TransportError as error:
                errors.append(f"post: {type(error).__name__}: {error}")
                continue
            samples.setdefault("intake post", []).append((time.perf_counter() - started) * 1000)
            if answer.status_code == 503:
                busy += 1
            elif answer.status_code not in (200, 201, 202):
                errors.append(f"post: {answer.status_code} {answer.text[:200]}")
    result.update(samples=samples, errors=errors, busy=busy)


# --- the app ----------------------------------------------------------------------------------------


async def app_loop(db: str, stop_at: float, seed: int) -> dict[str, Any]:
    from textual.worker import WorkerCancelled

    from crm_tui.app import make_app

    rnd = random.Random(seed)
    app = make_app(db, poll_seconds=0)
    samples: Samples = {}
    errors: list[str] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:

            async def settle() -> None:
                for _ in range(2):
                    while True:
                        try:
                            await app.workers.wait_for_complete()
                            break
                        except WorkerCancelled:
                            continue
                    await pilot.pause()

            async def timed(name: str, act: Callable[[], Awaitable[Any]]) -> None:
                started = time.perf_counter()
                await act()
                await settle()
                samples.setdefault(name, []).append((time.perf_counter() - started) * 1000)

            async def nothing() -> None:
                return None

            await settle()
            while time.monotonic() < stop_at:
                roll = rnd.random()
                if roll < 0.15:
                    await timed("floor: settle, no key", nothing)
                elif roll < 0.55:
                    key = rnd.choice("12345")
                    await timed(f"switch to {key}", lambda k=key: pilot.press(k))  # type: ignore[misc]
                elif roll < 0.75:
                    await timed("switch to 1", lambda: pilot.press("1"))
                    for key in ("pagedown", "down", "down"):
                        await timed("inbox paging", lambda k=key: pilot.press(k))  # type: ignore[misc]
                else:
                    await timed("open search", lambda: pilot.press("/"))
                    for ch in rnd.choice(["иван", "916", "ооо"]):
                        await timed("search typing", lambda c=ch: pilot.press(c))  # type: ignore[misc]
                    await timed("close search", lambda: pilot.press("escape"))
    except Exception as error:  # noqa: BLE001 - an app crash is what the soak reports
        errors.append(f"app: {type(error).__name__}: {error}")
    return {"samples": samples, "errors": errors}


# --- the report -------------------------------------------------------------------------------------


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(title: str, samples: Samples, floor: str) -> None:
    base = p(samples[floor], 0.99) if samples.get(floor) else None
    print(f"\n{title}")
    print(f"  {'operation':<24} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'p99 / floor':>12}")
    for name in sorted(samples, key=lambda k: (not k.startswith("floor"), k)):
        values = samples[name]
        ratio = f"{p(values, 0.99) / base:11.1f}x" if base else "-"
        middle, high = statistics.median(values), p(values, 0.99)
        print(f"  {name:<24} {len(values):>6} {middle:>9.1f} {high:>9.1f} {ratio:>12}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--cli", type=int, default=2, help="CLI processes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="an existing desk (default: a fresh one with a demo)")
    args = parser.parse_args()

    from tests.reliability.harness import check_desk

    folder = tempfile.mkdtemp(prefix="crm-soak-")
    db = args.db or os.path.join(folder, "soak.db")
    key = prepare(db, fresh=not args.db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "crm_tui", "--db", db, "intake", "serve", "--port", str(port), "--rate", "0",
         "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/", timeout=2)
            break
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                print("the intake server did not start:", server.communicate()[1], file=sys.stderr)
                return 1
            time.sleep(0.05)

    stop_at = time.monotonic() + args.minutes * 60
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    clis = [context.Process(target=cli_loop, args=(db, args.seed + i, stop_at, out)) for i in range(args.cli)]
    for process in clis:
        process.start()
    posted: dict[str, Any] = {}
    poster = threading.Thread(target=intake_loop, args=(base, key, args.seed, stop_at, posted))
    poster.start()
    shown = asyncio.run(app_loop(db, stop_at, args.seed))
    poster.join()
    cli_results = [out.get(timeout=120) for _ in clis]
    for process in clis:
        process.join(30)
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()

    cli_samples: Samples = {}
    for r in cli_results:
        for name, values in r["samples"].items():
            cli_samples.setdefault(name, []).extend(values)
    errors = [*posted.get("errors", []), *shown["errors"], *(e for r in cli_results for e in r["errors"])]
    print(f"soak: {args.minutes:g} min on {db}: intake + {args.cli} CLI processes + the app")
    report("intake server", posted.get("samples", {}), "floor: GET /")
    print(f"  answered 503 (busy, Retry-After): {posted.get('busy', 0)}")
    report("CLI", cli_samples, "floor: user list")
    print(f"  refused by a rule (one error line, nothing written): {sum(r['refusals'] for r in cli_results)}")
    report("app (key to settled)", shown["samples"], "floor: settle, no key")
    problems = check_desk(db)
    print(f"\nerrors: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    print(f"consistency: {'ok' if not problems else f'{len(problems)} problems'}")
    for line in problems[:20]:
        print(f"  {line}")
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
