"""A desk another program holds: reads go on, writes end with one clear line, the intake server starts.

Another process keeps SQLite's write lock (a ``BEGIN IMMEDIATE`` left open) longer than the busy
timeout, lowered here to a fraction of a second through ``CRM_BUSY_TIMEOUT_MS``. Every command runs as
a process of its own, as a user would run it. Also here: refusals that must leave the desk as it was
(a schema newer than this crm knows, an unknown script to export) and ``crm --db X init``.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm_tui.data.db import open_database
from crm_tui.data.migrations import latest_version
from crm_tui.services import leads, pipelines, users
from tests.conftest import NOW
from tests.reliability.harness import check_desk, crm_env, crm_process, start_crm

BUSY_MS = "300"
BUSY_LINE = "error: the desk is busy: another program has held it for more than 0.3 s; try again"


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A desk with a lead converted into deal #1."""
    path = tmp_path / "desk.db"
    opened = open_database(str(path))
    with opened.connection_context():
        admin = users.ensure_default(NOW).id
        pipelines.ensure_default()
        lead = leads.register(leads.NewLead("Иван Смирнов", "8 916 123-45-67"), by=admin, now=NOW)
        leads.convert(lead.id, by=admin, now=NOW, qualify_first=True)
    opened.close()
    return path


@pytest.fixture
def held(seeded: Path) -> Iterator[sqlite3.Connection]:
    """Another program holding the desk's write lock for the whole test."""
    other = sqlite3.connect(seeded, isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE user SET name = name")
    yield other
    other.execute("ROLLBACK")
    other.close()


def busy_env() -> dict[str, str]:
    return crm_env(CRM_BUSY_TIMEOUT_MS=BUSY_MS)


@pytest.mark.parametrize(
    ("args", "shows"),
    [
        (["lead", "list"], "Иван Смирнов"),
        (["search", "иван"], "Иван Смирнов"),
        (["stage", "list"], "Lead registered"),
        (["report", "funnel"], "leads"),
        (["deal", "list"], "Иван Смирнов"),
        (["init"], "up to date"),
    ],
)
def test_reads_go_on_while_another_program_holds_the_desk(
    seeded: Path, held: sqlite3.Connection, args: list[str], shows: str
) -> None:
    done = crm_process("--db", str(seeded), *args, env=busy_env())
    assert done.code == 0, done.err
    assert shows in done.out
    assert done.err == ""


@pytest.mark.parametrize(
    "args",
    [
        ["lead", "add", "--name", "Мария", "--phone", "+7 903 555-12-34"],
        ["deal", "move", "1", "3"],  # a converted lead's deal is at 2 already
        ["deal", "lose", "1", "--reason", "дорого"],
        ["user", "add", "olga"],
    ],
)
def test_a_write_on_a_held_desk_ends_with_one_line(
    seeded: Path, held: sqlite3.Connection, args: list[str]
) -> None:
    done = crm_process("--db", str(seeded), *args, env=busy_env())
    assert (done.code, done.err.splitlines()) == (1, [BUSY_LINE])
    assert "Traceback" not in done.err


def test_the_write_goes_through_once_the_desk_is_free(seeded: Path) -> None:
    other = sqlite3.connect(seeded, isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")
    refused = crm_process("--db", str(seeded), "deal", "move", "1", "3", env=busy_env())
    other.execute("ROLLBACK")
    other.close()
    assert refused.code == 1
    done = crm_process("--db", str(seeded), "deal", "move", "1", "3", "--json", env=busy_env())
    assert done.code == 0, done.err
    assert check_desk(str(seeded)) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_intake_server_starts_on_a_held_desk_and_answers_503(
    seeded: Path, held: sqlite3.Connection
) -> None:
    port = free_port()
    server = start_crm("--db", str(seeded), "intake", "serve", "--port", str(port), "--no-access-log",
                       env=busy_env())  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline
                time.sleep(0.05)
        # a form key the server has never seen still needs the database: the lock answers first
        answer = httpx.post(
            base + "/forms/no-such-key", json={"name": "Ольга", "phone": "8 926 111 22 33"}, timeout=30
        )
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) >= 1
    finally:
        server.kill()
        server.communicate(timeout=30)


def test_a_desk_newer_than_this_crm_is_refused_and_left_as_it_was(seeded: Path) -> None:
    newer = latest_version() + 1
    with sqlite3.connect(seeded) as raw:
        raw.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01 00:00:00')", (newer,)
        )
    before = _counts(seeded)
    for args in (["lead", "add", "--name", "Мария", "--phone", "+7 903 555-12-34"], ["init"]):
        done = crm_process("--db", str(seeded), *args)
        assert (done.code, done.err.splitlines()) == (
            1,
            [f"error: this desk's schema is version {newer}; this crm knows up to {newer - 1}: upgrade crm"],
        )
    assert _counts(seeded) == before


def test_init_creates_the_desk_named_by_the_global_db_option(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = crm_env(XDG_DATA_HOME=str(home))
    target = tmp_path / "elsewhere.db"
    done = crm_process("--db", str(target), "init", "--json", env=env)
    assert done.code == 0, done.err
    assert json.loads(done.out)["url"] == f"sqlite:///{target}"
    assert target.exists()
    assert not (home / "crm-tui" / "crm.db").exists()


def test_a_failed_script_export_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    assert crm_process("--db", str(path), "init").code == 0
    before = _counts(path)
    done = crm_process("--db", str(path), "script", "export", "no-such-script")
    assert (done.code, done.err.splitlines()) == (1, ["error: No call script 'no-such-script'"])
    assert _counts(path) == before
    shipped = crm_process("--db", str(path), "script", "export", "first-call-en")
    assert shipped.code == 0 and "name: first-call-en" in shipped.out


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as raw:
        tables = [t for (t,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: raw.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.mark.parametrize(("value", "waits"), [(None, 10_000), ("250", 250), ("0", 1), ("soon", 10_000)])
def test_the_busy_timeout_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, waits: int
) -> None:
    from crm_tui.data.db import busy_timeout_ms

    if value is None:
        monkeypatch.delenv("CRM_BUSY_TIMEOUT_MS", raising=False)
    else:
        monkeypatch.setenv("CRM_BUSY_TIMEOUT_MS", value)
    assert busy_timeout_ms() == waits
