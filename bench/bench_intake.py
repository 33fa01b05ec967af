"""Sustained lead intake on loopback, every lead committed durably (WAL, synchronous=FULL) before its answer.

    .venv/bin/python bench/bench_intake.py [--seconds 10] [--clients 16] [--json-share 0.2] [--client raw]

Starts ``crm intake serve`` in a subprocess on a free 127.0.0.1 port over a fresh database with one form
key, posts distinct leads (urlencoded form posts, a share of them JSON) from concurrent keep-alive
clients for the given time, then prints leads/s and the latency p50/p99, stops the server and checks
that the database holds exactly the leads that were answered 201/200 (and a first-call task for each).

``--client raw`` (default) is a keep-alive HTTP/1.1 client on asyncio streams; ``--client httpx`` uses
httpx.AsyncClient. On a 2-core machine the client shares the cores with the server, and httpx itself
tops out near 650 requests/s against an empty endpoint (the raw client near 8,000), so with httpx the
figure is mostly the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
CRM = [sys.executable, "-m", "crm_tui"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def crm(*args: str) -> str:
    result = subprocess.run([*CRM, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    return result.stdout


async def wait_up(base: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(base + "/")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the intake server did not start")


def lead_fields(n: int, worker: int) -> dict[str, str]:
    return {
        "name": f"Посетитель {n}",
        "phone": f"+7916{n:07d}",
        "email": f"v{n}@example.ru",
        "comment": "Перезвоните, пожалуйста",
        "page_url": f"https://shop.example/crm?utm_source=yandex&utm_medium=cpc&utm_term=crm+{worker}",
    }


async def raw_client(
    port: int, path: str, stop_at: float, counter: Iterator[int], worker: int, json_share: float, out: Stats
) -> None:
    """A keep-alive HTTP/1.1 client on asyncio streams: light enough not to be what is measured."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            n = next(counter)
            fields = lead_fields(n, worker)
            if n % 100 < json_share * 100:
                body, kind = json.dumps(fields).encode(), "application/json"
            else:
                body, kind = urlencode(fields).encode(), "application/x-www-form-urlencoded"
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            answer = await reader.readuntil(b"\r\n\r\n")
            status = int(answer.split(b" ", 2)[1])
            length = int(answer.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            out.add(status, time.perf_counter() - started)
    finally:
        writer.close()


async def httpx_client(
    port: int, path: str, stop_at: float, counter: Iterator[int], worker: int, json_share: float, out: Stats
) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        while time.monotonic() < stop_at:
            n = next(counter)
            fields = lead_fields(n, worker)
            started = time.perf_counter()
            if n % 100 < json_share * 100:
                response = await client.post(path, json=fields)
            else:
                response = await client.post(path, data=fields)
            out.add(response.status_code, time.perf_counter() - started)


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def add(self, status: int, latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def load(port: int, path: str, args: argparse.Namespace) -> Stats:
    out = Stats()
    counter = iter(range(10_000_000))
    stop_at = time.monotonic() + args.seconds
    client = raw_client if args.client == "raw" else httpx_client
    await asyncio.gather(
        *(client(port, path, stop_at, counter, w, args.json_share, out) for w in range(args.clients))
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--json-share", type=float, default=0.2)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: keep-alive HTTP/1.1 on asyncio streams; httpx: httpx.AsyncClient (much heavier itself)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "crm.db")
        key = crm("intake", "add-form", "Bench", "--db", db, "--json").split('"key": "')[1].split('"')[0]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "CRM_DB": db}
        server = subprocess.Popen(
            [*CRM, "intake", "serve", "--port", str(port), "--rate", "0", "--no-access-log"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            asyncio.run(wait_up(base))
            started = time.perf_counter()
            stats = asyncio.run(load(port, f"/forms/{key}", args))
            latencies, statuses = stats.latencies, stats.statuses
            elapsed = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        client_cpu = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        accepted = statuses.get(201, 0) + statuses.get(200, 0)
        with sqlite3.connect(db) as raw:
            leads = raw.execute("SELECT count(*) FROM lead").fetchone()[0]
            calls = raw.execute("SELECT count(*) FROM task WHERE kind = 'first_call'").fetchone()[0]
            sync = raw.execute("PRAGMA journal_mode").fetchone()[0]
        cut = sorted(latencies)
        p50 = statistics.median(cut) * 1000
        p99 = cut[min(len(cut) - 1, int(len(cut) * 0.99))] * 1000
        print(f"{args.client} clients {args.clients}, {elapsed:.1f} s, journal {sync}, synchronous=FULL")
        print(f"answers: {dict(sorted(statuses.items()))}")
        print(f"leads/s: {accepted / elapsed:.0f}")
        print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(
            f"CPU: server {server_cpu.ru_utime + server_cpu.ru_stime:.1f} s, "
            f"client {client_cpu.ru_utime + client_cpu.ru_stime:.1f} s"
        )
        print(f"in the database: {leads} leads, {calls} first-call tasks (answered: {accepted})")
        if leads != accepted or calls != accepted:
            print("MISMATCH: the database does not hold exactly the answered leads", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
