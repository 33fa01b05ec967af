"""``crm init``, ``crm user``, ``crm stage`` and ``crm search``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app
from crm_tui.data import migrations
from crm_tui.data.db import connect_url, database
from crm_tui.data.models import Stage, User
from tests.cli.conftest import Crm
from tests.conftest import Counts, Desk


def test_init_creates_then_reports_up_to_date(crm: Crm, db_path: Path) -> None:
    latest = migrations.latest_version()
    run = crm("init")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [f"database: sqlite:///{db_path}", f"schema version: {latest} (created)"]
    assert db_path.exists()
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT max(version) FROM schema_version").fetchone() == (latest,)
    assert raw.execute("SELECT login, role FROM user").fetchall() == [("admin", "admin")]
    assert raw.execute("SELECT count(*) FROM stage").fetchone() == (8,)
    raw.close()
    data = crm("init", "--json").json()
    assert data == {
        "url": f"sqlite:///{db_path}",
        "schema_version": latest,
        "previous_version": latest,
        "applied": [],
    }
    assert crm("init").out.splitlines()[1] == f"schema version: {latest} (up to date)"


def test_init_upgrades_an_old_file(crm: Crm, db_path: Path) -> None:
    old = connect_url(f"sqlite:///{db_path}")
    database.initialize(old)
    with old.connection_context():
        migrations.upgrade(old, target=1)
    old.close()
    run = crm("init", "--json")
    data = run.json()
    assert data["previous_version"] == 1
    assert data["applied"] == [m.version for m in migrations.all_migrations()][1:]
    assert crm("init").code == 0


def test_init_cannot_open_a_server_that_is_not_there(crm: Crm, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--db", "postgresql://crm:secret@127.0.0.1:9/crm"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: cannot open the database")
    assert "secret" not in result.stdout + result.stderr


def test_the_database_can_be_given_before_the_command(desk: Desk) -> None:
    result = CliRunner().invoke(app, ["--db", str(desk.db_path), "lead", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout) > 2 and '"Иван Смирнов"' in result.stdout


def test_the_database_from_the_environment(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DB", str(desk.db_path))
    result = CliRunner().invoke(app, ["deal", "list", "--json"])
    assert result.exit_code == 0 and f'"id": {desk.deal_id}' in result.stdout


def test_user_add_and_list(crm: Crm) -> None:
    run = crm("user", "add", "Anna", "--name", "Анна Петрова", "--role", "head")
    assert run.out.strip().endswith("anna (Анна Петрова, head) added")
    assert (
        crm("user", "add", "oleg", "--name", "Олег", "--role", "operator", "--json").json()["login"] == "oleg"
    )
    listed = crm("user", "list", "--json").json()
    assert [(u["login"], u["role"]) for u in listed] == [
        ("admin", "admin"),
        ("anna", "head"),
        ("oleg", "operator"),
    ]
    assert all(isinstance(u["id"], int) for u in listed)
    assert "Анна Петрова" in crm("user", "list").out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["admin", "--name", "X"], "User 'admin' already exists"),
        (
            ["vasya", "--role", "boss"],
            "Unknown role 'boss'; one of: admin, head, manager, operator, freelancer",
        ),
        (["  "], "Login is required"),
    ],
)
def test_user_add_refusals(crm: Crm, counts: Counts, args: list[str], message: str) -> None:
    before = counts()
    assert crm("user", "add", *args).error == message
    assert counts() == before and User.select().count() == 1


def test_acting_as_an_unknown_user_is_refused(crm: Crm, counts: Counts) -> None:
    before = counts()
    assert crm("lead", "add", "--name", "X", "--phone", "+79161234567", "--user", "ghost").error == (
        "No user with login 'ghost'"
    )
    assert counts() == before


def test_stage_list_shows_numbers_names_and_deal_counts(desk: Desk, crm: Crm) -> None:
    lines = crm("stage", "list").out.splitlines()
    assert lines[0].split() == ["#", "STAGE", "ЭТАП", "KIND", "PROB", "STALE", "DEALS", "ID"]
    assert lines[2].split()[-5:-2] == ["open", "10%", "7d"]
    assert lines[1].startswith("1  Lead registered         Первичное обращение")
    assert lines[2].split()[-2] == "1"  # the seeded deal, opened at Need discovery
    assert lines[7].startswith("7  Won") and lines[8].startswith("8  Lost")
    data = crm("stage", "list", "--json").json()
    assert [(s["number"], s["name"], s["kind"]) for s in data][-2:] == [
        (7, "Won", "won"),
        (8, "Lost", "lost"),
    ]
    assert data[1]["deals"] == 1 and data[1]["totals"] == {"RUB": 15_000_000}


def test_stage_add_rename_and_move(desk: Desk, crm: Crm) -> None:
    assert crm("stage", "add", "Installation", "--after", "5", "--ru", "Монтаж").out.strip() == (
        "stage 6 Installation added"
    )
    assert crm("stage", "rename", "монтаж", "Setup", "--ru", "Настройка").code == 0
    assert crm("stage", "move", "Setup", "2").code == 0
    names = [s["name"] for s in crm("stage", "list", "--json").json()]
    assert names[:3] == ["Lead registered", "Setup", "Need discovery"]
    assert len(names) == 9
    assert crm("deal", "move", str(desk.deal_id), "Настройка").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "X", "--after", "9"], "--after must be an open stage's number, 1 to 6"),
        (["move", "Won", "2"], "Won is a closing stage: Won and Lost stay at the end"),
        (["move", "2", "7"], "The new number must be between 1 and 6"),
        (["rename", "42", "X"], "No stage number 42; the pipeline has 8 stages"),
    ],
)
def test_stage_refusals(crm: Crm, counts: Counts, args: list[str], message: str) -> None:
    before = counts()
    assert crm("stage", *args).error == message
    assert counts() == before
    assert [s.name for s in Stage.select().order_by(Stage.position)][:2] == [
        "Lead registered",
        "Need discovery",
    ]


def test_stage_set_probability_and_stale_days(desk: Desk, crm: Crm) -> None:
    run = crm("stage", "set", "Proposal preparation", "--probability", "35", "--stale-days", "5")
    assert run.out == "stage 3 Proposal preparation: probability 35%, stale after 5 days\n"
    assert crm("stage", "set", "3", "--stale-days", "10", "--json").json()["stale_days"] == 10
    row = crm("stage", "list", "--json").json()[2]
    assert (row["probability"], row["stale_days"]) == (35, 10)


def test_stage_remove_refuses_while_deals_are_there_then_removes(
    desk: Desk, crm: Crm, counts: Counts
) -> None:
    before = counts()
    # a converted lead's deal opens at stage 2
    assert crm("stage", "remove", "2").error == "1 deal is at stage 2 Need discovery; move it first"
    assert counts() == before
    assert crm("deal", "move", str(desk.deal_id), "3").code == 0
    assert crm("stage", "remove", "2").out.splitlines() == [
        "stage 2 Need discovery removed",
        "1 earlier move into it left the deals' stage history (their timelines keep what was written)",
    ]
    data = crm("stage", "remove", "первичное", "--json").json()
    assert (data["name"], data["number"], data["history_dropped"]) == ("Lead registered", 1, 0)
    assert [s["name"] for s in crm("stage", "list", "--json").json()][:2] == [
        "Proposal preparation",
        "Proposal negotiation",
    ]


def test_a_rename_to_a_name_in_use_is_refused_so_deal_move_cannot_go_astray(
    desk: Desk, crm: Crm, counts: Counts
) -> None:
    assert crm("deal", "move", str(desk.deal_id), "5").code == 0
    before = counts()
    assert crm("stage", "rename", "1", "Need discovery").error == (
        "Stage 2 is already called 'Need discovery'; stage names must differ"
    )
    assert crm("stage", "add", "need DISCOVERY", "--after", "3").error == (
        "Stage 2 is already called 'need DISCOVERY'; stage names must differ"
    )
    assert counts() == before
    assert crm("deal", "move", str(desk.deal_id), "Need discovery").out.startswith(f"deal #{desk.deal_id} ")
    deal = crm("deal", "show", str(desk.deal_id), "--json").json()["deal"]
    assert (deal["stage_position"], deal["stage_name"]) == (1, "Need discovery")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "2", "--probability", "120"], "A probability is between 0 and 100 %, not 120"),
        (["set", "2", "--stale-days", "0"], "Stale days must be at least 1, not 0"),
        (["set", "2"], "nothing to set: give --probability and/or --stale-days"),
        (
            ["set", "Proposal", "--probability", "1"],
            "Stage 'Proposal' is ambiguous: 3 Proposal preparation, ",
        ),
        (["remove", "Won"], "Won is a closing stage: every pipeline keeps its Won and Lost"),
        (["remove", "Провалено"], "Lost is a closing stage: every pipeline keeps its Won and Lost"),
        (["remove", "9"], "No stage number 9; the pipeline has 8 stages"),
        (["rename", "2", "5"], "A stage name cannot be a number ('5'): numbers pick stages by position"),
    ],
)
def test_stage_set_and_remove_refusals(
    desk: Desk, crm: Crm, counts: Counts, args: list[str], message: str
) -> None:
    before = counts()
    assert crm("stage", *args).error.startswith(message)
    assert counts() == before
    row = crm("stage", "list", "--json").json()[1]
    assert (row["name"], row["probability"], row["stale_days"]) == ("Need discovery", 10, 7)


def test_search_cyrillic_and_phone_fragments(desk: Desk, crm: Crm) -> None:
    run = crm("search", "ИВАН")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split() == ["KIND", "ID", "NAME", "DETAIL"]
    assert lines[1].split()[:4] == ["lead", str(desk.new_lead_id), "Иван", "Смирнов"]
    assert "+7 916 123-45-67" in lines[1]
    hits = crm("search", "8 916 123", "--json").json()
    assert [(h["kind"], h["id"]) for h in hits] == [("lead", desk.new_lead_id)]
    hits = crm("search", "вектор", "--kind", "deal", "--kind", "company", "--json").json()
    assert {(h["kind"], h["id"]) for h in hits} == {("deal", desk.deal_id), ("company", desk.company_id)}
    assert len(crm("search", "вектор", "--limit", "1", "--json").json()) == 1
    assert crm("search", "несуществующий").out.strip() == "nothing found"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["и"], "type at least 3 characters to search"),
        (["ив"], "type at least 3 characters to search"),
        (["  91 "], "type at least 3 characters to search"),
        (["иван", "--kind", "task"], "unknown kind 'task'; one of: lead, contact, company, deal"),
        (["иван", "--limit", "0"], "--limit must be between 1 and 1000"),
    ],
)
def test_search_refusals(crm: Crm, args: list[str], message: str) -> None:
    assert crm("search", *args).error == message
