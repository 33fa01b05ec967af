"""``crm backup`` / ``crm restore`` on real files, while other processes write to the desk."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from crm_tui.data.db import database
from crm_tui.services import backup, intake, settings
from crm_tui.services.errors import InvalidInput
from tests.cli.conftest import Crm
from tests.conftest import NOW, Counts, Desk

CRM = Path(sys.executable).with_name("crm")


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as raw:
        return raw.execute(sql).fetchall()


def integrity(path: Path) -> str:
    return str(rows(path, "PRAGMA integrity_check")[0][0])


def test_backup_goes_beside_the_desk_with_a_time_in_its_name_and_is_checked(desk: Desk, crm: Crm) -> None:
    database.close()
    done = crm("backup", "--json")
    assert done.code == 0, done.err
    result = done.json()
    path = Path(result["path"])
    assert path.parent == desk.db_path.parent / "backups"
    assert path.name.startswith("crm-") and path.suffix == ".db"
    assert path.stat().st_size == result["size"]
    assert result["counts"]["lead"] == 3 and result["counts"]["deal"] == 1
    assert integrity(path) == "ok"
    # a single self-contained file: no write-ahead log beside it
    assert not Path(f"{path}-wal").exists()
    assert rows(path, "SELECT name FROM lead ORDER BY id") == [
        ("Иван Смирнов",),
        ("Maria Ivanova",),
        ("Пётр Сидоров",),
    ]
    human = crm("backup")
    assert human.code == 0 and human.out.startswith("backup: ") and "integrity ok" in human.out
    assert "lead 3" in human.out
    assert len(list(path.parent.iterdir())) == 2  # the same minute: a second name, never overwritten


def test_backup_to_a_named_file_refuses_to_overwrite_one(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    database.close()
    target = tmp_path / "copy.db"
    assert crm("backup", str(target)).code == 0
    assert integrity(target) == "ok"
    again = crm("backup", str(target))
    assert "exists already" in again.error
    assert "No folder" in crm("backup", str(tmp_path / "nowhere" / "x.db")).error


def test_restore_swaps_the_desk_and_keeps_the_former_file_aside(desk: Desk, crm: Crm) -> None:
    database.close()
    taken = Path(crm("backup", "--json").json()["path"])
    assert crm("lead", "add", "--name", "После бэкапа", "--phone", "+7 916 000-00-01").code == 0
    database.close()
    done = crm("restore", str(taken), "--json")
    assert done.code == 0, done.err
    result = done.json()
    aside = Path(result["kept_aside"])
    assert aside.name.startswith("crm.db.before-restore-")
    assert [n for (n,) in rows(desk.db_path, "SELECT name FROM lead")] == [
        "Иван Смирнов",
        "Maria Ivanova",
        "Пётр Сидоров",
    ]
    assert ("После бэкапа",) in rows(aside, "SELECT name FROM lead")  # nothing lost: the former desk
    assert integrity(desk.db_path) == "ok"
    listed = crm("lead", "list", "--json").json()
    assert len(listed) == 3


def test_restore_refuses_while_another_process_has_the_desk_open(
    desk: Desk, crm: Crm, tmp_path: Path
) -> None:
    database.close()
    taken = crm("backup", "--json").json()["path"]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); c.execute('select 1 from lead');"
            " print('open', flush=True); time.sleep(60)",
            str(desk.db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = desk.db_path.read_bytes()
        message = crm("restore", taken).error
        assert f"pid {holder.pid}" in message and "import sqlite3" in message
        assert "close it and try again" in message
    finally:
        holder.kill()
        holder.wait()
    assert desk.db_path.read_bytes() == before
    assert not list(tmp_path.glob("crm.db.before-restore-*"))


def test_restore_refuses_what_is_not_a_good_desk(
    desk: Desk, crm: Crm, tmp_path: Path, counts: Counts
) -> None:
    database.close()
    taken = Path(crm("backup", "--json").json()["path"])
    database.close()
    before = counts()
    database.close()
    junk = tmp_path / "notes.txt"
    junk.write_text("не база", encoding="utf-8")
    assert "not a crm desk (not an SQLite database)" in crm("restore", str(junk)).error
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE t (x)")
    assert "not a crm desk (no table schema_version" in crm("restore", str(other)).error
    newer = tmp_path / "newer.db"
    newer.write_bytes(taken.read_bytes())
    with sqlite3.connect(newer) as raw:
        raw.execute("INSERT INTO schema_version (version, applied_at) VALUES (999, '2030-01-01')")
    message = crm("restore", str(newer)).error
    assert "schema version 999, newer than this crm knows" in message
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(taken.read_bytes())
    with sqlite3.connect(damaged) as raw:
        (root,) = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'lead'").fetchone()
        (page,) = raw.execute("PRAGMA page_size").fetchone()
    data = bytearray(damaged.read_bytes())
    data[(root - 1) * page + 8 : root * page] = b"\xab" * (page - 8)  # the lead table's page scribbled over
    damaged.write_bytes(bytes(data))
    assert "damaged.db failed the integrity check: " in crm("restore", str(damaged)).error
    assert "No file" in crm("restore", str(tmp_path / "missing.db")).error
    assert not list(tmp_path.glob("crm.db.before-restore-*"))
    assert counts() == before


def test_the_daily_backup_is_taken_once_a_day_and_keeps_the_last_n(desk: Desk) -> None:
    folder = desk.db_path.parent / "backups"
    epoch = time.time()
    first = backup.auto_backup(database.obj, now=NOW, now_epoch=epoch)
    assert first is not None and Path(first.path).parent == folder
    assert backup.auto_backup(database.obj, now=NOW, now_epoch=epoch + 3600) is None  # an hour later
    settings.put("backups.keep", "3")
    for day in range(1, 6):
        for path in folder.iterdir():  # make the backups there look a day older
            os.utime(path, (path.stat().st_mtime - 86400, path.stat().st_mtime - 86400))
        assert (
            backup.auto_backup(database.obj, now=NOW.replace(day=2 + day), now_epoch=epoch + 60) is not None
        )
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 3
    assert kept[-1].startswith("crm-2026-03-07T")


def test_backups_keep_is_a_desk_setting_with_a_checked_value(desk: Desk) -> None:
    assert settings.value("backups.keep") == 14
    for bad in ("0", "-1", "many", "1.5"):
        with pytest.raises(InvalidInput, match="Not a number of backups to keep"):
            settings.put("backups.keep", bad)
    assert settings.put("backups.keep", " 30 ") == 30


def test_crm_remind_takes_the_daily_backup(desk: Desk, crm: Crm) -> None:
    database.close()
    folder = desk.db_path.parent / "backups"
    assert crm("remind", "--no-desktop").code == 0
    (taken,) = folder.iterdir()
    assert integrity(taken) == "ok"
    assert crm("remind", "--no-desktop").code == 0
    assert list(folder.iterdir()) == [taken]  # once a day


# ------------------------------------------------------------------------------ while others write
CLI_WRITER = textwrap.dedent(
    """
    import json, subprocess, sys
    crm, db, ack, stop = sys.argv[1:]
    from pathlib import Path
    i = 0
    while not Path(stop).exists():
        i += 1
        out = subprocess.run([crm, "lead", "add", "--name", f"Клиент CLI {i}", "--phone",
                              f"+7 916 100-{i // 100:02d}-{i % 100:02d}", "--json", "--db", db],
                             capture_output=True, text=True, check=True).stdout
        with open(ack, "a") as f:
            f.write(f"{json.loads(out)['lead']['id']}\\n")
    """
)

MOVE_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from pathlib import Path
    from crm_tui.data.db import open_database
    from crm_tui.data.models import StageHistory
    from crm_tui.services import deals, pipelines, users
    db, ack, stop = sys.argv[1:]
    desk = open_database(db)
    now = datetime(2026, 3, 2, 10, 0)
    with desk.connection_context():
        admin = users.by_login("admin").id
        first, second = (s.id for s in pipelines.stages(pipelines.default_pipeline_id())[:2])
        made = [deals.create(f"Сделка {n}", contact_id=None, amount=100_00, by=admin, now=now).id
                for n in range(3)]
        at = {deal: first for deal in made}
        i = 0
        while not Path(stop).exists():
            i += 1
            deal = made[i % 3]
            at[deal] = second if at[deal] == first else first
            deals.move(deal, at[deal], by=admin, now=now)
            last = StageHistory.select(StageHistory.id).where(StageHistory.deal == deal)
            last = last.order_by(StageHistory.id.desc()).scalar()
            with open(ack, "a") as f:
                f.write(f"{last}\\n")
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def acked(path: Path) -> set[int]:
    if not path.exists():
        return set()
    return {int(line) for line in path.read_text().splitlines() if line.strip()}


def test_a_backup_taken_while_three_processes_write_holds_every_acknowledged_row(
    desk: Desk, tmp_path: Path
) -> None:
    form = intake.add_form("Landing", by=desk.admin_id, now=NOW)
    database.close()
    stop = tmp_path / "stop"
    cli_ack, move_ack = tmp_path / "cli.ack", tmp_path / "move.ack"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    port = free_port()
    server = subprocess.Popen(
        [str(CRM), "intake", "serve", "--port", str(port), "--rate", "0", "--db", str(desk.db_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", CLI_WRITER, str(CRM), str(desk.db_path), str(cli_ack), str(stop)]
        ),
        subprocess.Popen(
            [sys.executable, "-c", MOVE_WRITER, str(desk.db_path), str(move_ack), str(stop)], env=env
        ),
    ]
    posted: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def poster() -> None:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:  # wait for the server
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    failures.append(RuntimeError("the intake server did not start"))
                    return
                time.sleep(0.1)
        n = 0
        while not stop.exists():
            n += 1
            try:
                reply = httpx.post(
                    f"{base}/forms/{form.key}",
                    json={"name": f"Посетитель {n}", "phone": f"+7 926 200-{n // 100:02d}-{n % 100:02d}"},
                    timeout=30,
                )
                reply.raise_for_status()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                failures.append(error)
                return
            with lock:
                posted.append(int(reply.json()["lead_id"]))

    thread = threading.Thread(target=poster)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while len(acked(cli_ack)) < 3 or len(acked(move_ack)) < 20 or len(posted) < 10:
            assert time.monotonic() < deadline, "the writers did not get going"
            assert not failures, failures
            assert all(w.poll() is None for w in writers), "a writer failed"
            time.sleep(0.1)
        # everything acknowledged up to here must be in the backup
        with lock:
            posted_before = set(posted)
        cli_before, moves_before = acked(cli_ack), acked(move_ack)
        result = backup.backup_sqlite(desk.db_path, tmp_path / "during.db", now=NOW)
        time.sleep(0.5)  # the writers go on after the backup
    finally:
        stop.touch()
        thread.join(30)
        for writer in writers:
            writer.wait(60)
        server.terminate()
        server.wait(30)
    assert not failures, failures
    assert all(w.returncode == 0 for w in writers)
    assert len(posted) > len(posted_before)  # writes went on during and after the backup

    restored = tmp_path / "restored" / "crm.db"
    backup.restore_sqlite(restored, Path(result.path), now=NOW)
    assert integrity(restored) == "ok"
    leads_there = {int(i) for (i,) in rows(restored, "SELECT id FROM lead")}
    assert cli_before <= leads_there
    assert posted_before <= leads_there
    history_there = {int(i) for (i,) in rows(restored, "SELECT id FROM stage_history")}
    assert moves_before <= history_there
    assert rows(restored, "SELECT COUNT(*) FROM lead")[0][0] == result.counts["lead"]
    # the stage totals kept by triggers agree with the deals in the copy: one consistent moment
    assert rows(
        restored,
        "SELECT COUNT(*) FROM (SELECT stage_id, COUNT(*) n FROM deal GROUP BY stage_id) d"
        " LEFT JOIN (SELECT stage_id, SUM(deals) n FROM stage_total GROUP BY stage_id) t USING (stage_id)"
        " WHERE t.n IS NOT d.n",
    ) == [(0,)]


# ----------------------------------------------------------------------------------- PostgreSQL
@pytest.mark.postgres
def test_postgresql_backup_is_a_pg_dump_and_restore_brings_the_rows_back(pg_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crm_tui.cli import app as cli_app

    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        done = runner.invoke(cli_app, [*args, "--db", pg_url])
        if database.obj is not None and not database.is_closed():
            database.close()
        return done.exit_code, done.stdout, done.stderr

    assert run("lead", "add", "--name", "Иван", "--phone", "+7 916 123-45-67")[0] == 0
    code, out, err = run("backup", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["backend"] == "postgresql" and result["path"].endswith(".dump")
    assert result["counts"]["lead"] == 1 and Path(result["path"]).stat().st_size == result["size"]
    assert run("lead", "add", "--name", "Пётр", "--phone", "+7 916 765-43-21")[0] == 0
    code, _, err = run("restore", result["path"])
    assert code == 1 and "run again with --yes" in err
    assert len(json.loads(run("lead", "list", "--json")[1])) == 2  # asking changed nothing
    code, out, err = run("restore", result["path"], "--yes")
    assert code == 0, err
    names = [lead["name"] for lead in json.loads(run("lead", "list", "--json")[1])]
    assert names == ["Иван"]
    assert run("lead", "add", "--name", "Олег", "--phone", "+7 916 111-22-33")[0] == 0  # the ids go on


def test_a_missing_pg_dump_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(backup.glob, "glob", lambda pattern: [])
    with pytest.raises(backup.BackupError, match="pg_dump is not installed"):
        backup.pg_tool("pg_dump")


def test_restore_over_a_damaged_desk_sets_it_aside_as_it_was(desk: Desk, crm: Crm, tmp_path: Path) -> None:
    database.close()
    taken = crm("backup", "--json").json()["path"]
    desk.db_path.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))  # the disk failed
    Path(f"{desk.db_path}-wal").write_bytes(os.urandom(100))
    done = crm("restore", taken, "--json")
    assert done.code == 0, done.err
    aside = Path(done.json()["kept_aside"])
    assert aside.read_bytes().startswith(b"SQLite format 3\x00") and Path(f"{aside}-wal").exists()
    assert not Path(f"{desk.db_path}-wal").exists() or integrity(desk.db_path) == "ok"
    assert integrity(desk.db_path) == "ok"
    assert len(crm("lead", "list", "--json").json()) == 3


def test_backup_of_a_desk_that_is_not_there_says_so(crm: Crm, tmp_path: Path) -> None:
    message = crm("backup", "--db", str(tmp_path / "none.db")).error
    assert "nothing to back up" in message
    assert not (tmp_path / "none.db").exists()
