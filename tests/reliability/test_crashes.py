"""``kill -9`` at any moment of a write: every acknowledged write is there, nothing is half-written.

The writers are real processes on one desk file: ``tests.reliability.writer`` (``crm`` commands run one
after another, acknowledging each), ``crm lead add``, ``crm intake serve`` taking posts, and ``crm demo``.
Each is killed with SIGKILL after a random (seeded) delay; the desk is then opened again as after a
crash, and :func:`check_desk` must find it whole, with every write that was acknowledged in it. The
rounds are bounded, so each test takes a few seconds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from crm_tui.data.db import connect_url, open_database, resolve_url
from crm_tui.services import intake
from tests.conftest import NOW
from tests.reliability.harness import ROOT, check_desk, crm_env, crm_process, restart, start_crm

SEED = 20261203


def _kill_after(process: subprocess.Popen[str], seconds: float) -> None:
    time.sleep(seconds)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = connect_url(resolve_url(str(path)))
    try:
        return [tuple(r) for r in db.execute_sql(sql).fetchall()]
    finally:
        db.close()


def test_killing_a_busy_cli_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    assert crm_process("--db", str(path), "init").code == 0
    rnd = random.Random(SEED)
    acks: list[tuple[str, dict[str, int | str]]] = []
    for round_ in range(4):
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.writer", str(path), str(SEED + round_)],
            cwd=ROOT,
            env=crm_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n", writer.communicate()[1]
        # let it acknowledge a few writes, then kill it at a random moment of the ones that follow
        lines = [writer.stdout.readline() for _ in range(rnd.randint(3, 8))]
        time.sleep(rnd.uniform(0, 0.3))
        os.kill(writer.pid, signal.SIGKILL)
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL, err
        lines += out.splitlines()
        for line in filter(None, (line.strip() for line in lines)):
            _ack, kind, data = line.split(" ", 2)
            acks.append((kind, json.loads(data)))
        restart(str(path))
        assert check_desk(str(path)) == [], f"after round {round_}"
    assert len(acks) >= 12  # at least three a round
    names = dict(_rows(path, "SELECT id, name FROM lead"))
    for kind, data in acks:
        if kind == "lead-add":
            assert names.get(data["id"]) == data["name"]
    converted = dict(_rows(path, "SELECT id, deal_id FROM lead WHERE status = 'converted'"))
    for kind, data in acks:
        if kind == "convert":
            assert converted.get(data["lead_id"]) == data["deal_id"]
    moves = dict(_rows(path, "SELECT deal_id, COUNT(*) FROM stage_history GROUP BY deal_id"))
    acked_moves: dict[int, int] = {}
    for kind, data in acks:
        if kind in ("deal-move", "deal-lose", "deal-win"):
            acked_moves[int(data["id"])] = acked_moves.get(int(data["id"]), 0) + 1
    for deal_id, count in acked_moves.items():
        assert moves[deal_id] >= count + 1  # the deal's creation, then at least every acknowledged move


def test_killing_crm_lead_add_at_random_moments(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    assert crm_process("--db", str(path), "init").code == 0
    rnd = random.Random(SEED)
    acked: dict[int, str] = {}
    for round_ in range(6):
        name = f"Ольга {round_}"
        process = start_crm("--db", str(path), "lead", "add", "--name", name, "--phone",
                            f"+7 926 111-22-{round_:02d}", "--json")  # fmt: skip
        killer = threading.Thread(target=_kill_after, args=(process, rnd.uniform(0.2, 1.2)))
        killer.start()
        out, _err = process.communicate(timeout=60)
        killer.join()
        if process.returncode == 0:
            acked[json.loads(out)["lead"]["id"]] = name
        else:
            assert process.returncode == -signal.SIGKILL
        restart(str(path))
        assert check_desk(str(path)) == []
    leads = dict(_rows(path, "SELECT id, name FROM lead"))
    assert all(leads.get(i) == name for i, name in acked.items())
    tasks = dict(_rows(path, "SELECT lead_id, COUNT(*) FROM task GROUP BY lead_id"))
    assert all(tasks.get(i) == 1 for i in leads)  # each lead came with its first-call task, or not at all


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_killing_the_intake_server_loses_no_answered_lead(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    opened = open_database(str(path))
    with opened.connection_context():
        key = intake.add_form("Landing", by=None, now=NOW, default_source="site").key
    opened.close()
    rnd = random.Random(SEED)
    answered: set[int] = set()
    for round_ in range(2):
        port = _free_port()
        server = start_crm("--db", str(path), "intake", "serve", "--port", str(port), "--rate", "0",
                           "--no-access-log")  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        # after a few answered posts, the server is killed at a random moment of the ones that follow
        kill_after = rnd.randint(3, 10)
        killer = threading.Thread(target=_kill_after, args=(server, rnd.uniform(0, 0.3)))
        with httpx.Client(timeout=30) as client:
            for n in range(100_000):
                post = {"name": f"Посетитель {round_}-{n}", "phone": f"+7 916 {round_}{n:06d}"}
                try:
                    answer = client.post(f"{base}/forms/{key}", json=post)
                except httpx.TransportError:
                    break
                if answer.status_code in (200, 201):
                    answered.add(int(answer.json()["lead_id"]))
                if n + 1 == kill_after:
                    killer.start()
        killer.join()
        server.communicate(timeout=30)
        restart(str(path))
        assert check_desk(str(path)) == []
    assert answered
    stored = {int(i) for (i,) in _rows(path, "SELECT id FROM lead")}
    assert answered <= stored


def test_killing_crm_demo_leaves_whole_transactions(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    rnd = random.Random(SEED)
    for _round in range(2):
        demo = start_crm("--db", str(path), "demo", "--leads", "3000")
        killer = threading.Thread(target=_kill_after, args=(demo, rnd.uniform(1.0, 3.0)))
        killer.start()
        demo.communicate(timeout=120)
        killer.join()
        restart(str(path))
        assert check_desk(str(path)) == []
    # the desk still takes writes after the crashes
    assert (
        crm_process("--db", str(path), "lead", "add", "--name", "Ольга", "--phone", "+7 926 111-22-33").code
        == 0
    )


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    """Running (not gone, and not a zombie waiting for a parent to read its status)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a big demo forks its generator on Linux")
def test_the_demo_generator_dies_with_its_parent(tmp_path: Path) -> None:
    """A big demo generates rows in a forked process; ``kill -9`` of ``crm demo`` takes that one too."""
    path = tmp_path / "desk.db"
    demo = subprocess.Popen(
        [sys.executable, "-m", "crm_tui", "--db", str(path), "demo", "--leads", "60000"],
        cwd=ROOT,
        env=crm_env(),
        stdout=subprocess.DEVNULL,  # no pipe an orphan could keep open
        stderr=subprocess.DEVNULL,
    )
    child = 0
    try:
        assert _wait_for(lambda: _children(demo.pid), 60), "the generator was never forked"
        (child,) = _children(demo.pid)
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait(timeout=30)
        assert _wait_for(lambda: not _alive(child), 10), "the generator outlived crm demo"
    finally:
        if demo.poll() is None:
            demo.kill()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)
    restart(str(path))
    assert check_desk(str(path)) == []
